import DTPPostgres
import DTPTestSupport
import Foundation
import Testing

@Suite("Postgres types")
struct PostgresTypeTests {
    struct Reading: Codable, Equatable {
        var name: String
        var values: [Double]
        var note: String?
    }

    @Test("every supported type round-trips through a table, NULLs included")
    func roundTrips() async throws {
        let pool = try PG.pool("types", size: 1)
        try await PG.withSchema(pool) { schema in
            try await pool.execute(
                """
                CREATE TABLE \(schema).v (
                    id int4, s text, i int8, i32 int4, i64 int8, d float8, b bool, u uuid, ts timestamptz,
                    j jsonb, sa text[], ia int8[], da float8[])
                """)
            let id = UUID()
            // Microseconds since the epoch, so the expected instant is exact.
            let ts = Date(timeIntervalSince1970: 1_718_000_123.456789)
            let reading = Reading(name: "pump ⚙️", values: [1.5, -2.25], note: nil)
            let text = "unicode: Grüße, 温度, 🚀; quotes ' \" and \\ backslash,\ttab\nnewline"
            try await pool.execute(
                "INSERT INTO \(schema).v VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                [
                    Int32(1), text, Int.max, Int32.min, Int64.min, 0.1 + 0.2, true, id, ts,
                    try PostgresJSON(encoding: reading), ["a", "b,c", "d \"e\"", "", "NULL", "{x}"],
                    [1, -2, Int.max], [1.5, -0.0, 1e300],
                ])
            try await pool.execute(
                "INSERT INTO \(schema).v VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                [
                    Int32(2), String?.none, Int?.none, Int32?.none, Int64?.none, Double?.none, Bool?.none,
                    UUID?.none, Date?.none, PostgresJSON?.none, [String]?.none, [Int]?.none, [Double]?.none,
                ])
            let rows = try await pool.query("SELECT * FROM \(schema).v ORDER BY id")
            #expect(rows.count == 2)
            let row = rows[0]
            #expect(try row.decode(String.self, named: "s") == text)
            #expect(try row.decode(Int.self, named: "i") == Int.max)
            #expect(try row.decode(Int32.self, named: "i32") == Int32.min)
            #expect(try row.decode(Int64.self, named: "i64") == Int64.min)
            #expect(try row.decode(Double.self, named: "d") == 0.1 + 0.2)
            #expect(try row.decode(Bool.self, named: "b") == true)
            #expect(try row.decode(UUID.self, named: "u") == id)
            let decodedTS = try row.decode(Date.self, named: "ts")
            #expect(abs(decodedTS.timeIntervalSince1970 - ts.timeIntervalSince1970) < 0.000_000_5)
            #expect(try row.decodeJSON(Reading.self, named: "j") == reading)
            #expect(try row.decode(PostgresJSON.self, named: "j").string.contains("\"pump ⚙️\""))
            #expect(try row.decode([String].self, named: "sa") == ["a", "b,c", "d \"e\"", "", "NULL", "{x}"])
            #expect(try row.decode([Int].self, named: "ia") == [1, -2, Int.max])
            #expect(try row.decode([Double].self, named: "da") == [1.5, -0.0, 1e300])
            let nulls = rows[1]
            #expect(try nulls.decode(String?.self, named: "s") == nil)
            #expect(try nulls.decode(Int?.self, named: "i") == nil)
            #expect(try nulls.decode(Int32?.self, named: "i32") == nil)
            #expect(try nulls.decode(Int64?.self, named: "i64") == nil)
            #expect(try nulls.decode(Double?.self, named: "d") == nil)
            #expect(try nulls.decode(Bool?.self, named: "b") == nil)
            #expect(try nulls.decode(UUID?.self, named: "u") == nil)
            #expect(try nulls.decode(Date?.self, named: "ts") == nil)
            #expect(try nulls.decode(PostgresJSON?.self, named: "j") == nil)
            #expect(try nulls.decode([String]?.self, named: "sa") == nil)
            #expect(nulls.isNull(at: 12))
        }
        await pool.close()
    }

    @Test("timestamps keep their microseconds and are read as UTC instants")
    func timestamps() async throws {
        let pool = try PG.pool("timestamps", size: 1)
        let rows = try await pool.query(
            """
            SELECT '2024-02-29 23:59:59.000001+00'::timestamptz, '1999-12-31 19:00:00.5-05'::timestamptz,
                   '2024-01-01 00:00:00'::timestamp, '1970-01-01'::date,
                   $1::timestamptz, extract(epoch FROM $1::timestamptz)::text
            """,
            [Date(timeIntervalSince1970: 1_000_000_000.000_001)])
        let row = rows[0]
        let leap = try row.decode(Date.self, at: 0)
        #expect(leap.timeIntervalSince1970 == 1_709_251_199.000_001)
        #expect(try row.decode(Date.self, at: 1).timeIntervalSince1970 == 946_684_800.5)
        #expect(try row.decode(Date.self, at: 2).timeIntervalSince1970 == 1_704_067_200)
        #expect(try row.decode(Date.self, at: 3).timeIntervalSince1970 == 0)
        #expect(abs(try row.decode(Date.self, at: 4).timeIntervalSince1970 - 1_000_000_000.000_001) < 1e-7)
        #expect(try row.decode(String.self, at: 5) == "1000000000.000001")
        await pool.close()
    }

    @Test("doubles round-trip exactly, specials included; arrays hold NULLs")
    func doublesAndArrays() async throws {
        let pool = try PG.pool("doubles", size: 1)
        let values: [Double] = [
            0.1, 1.0 / 3.0, -Double.leastNonzeroMagnitude, .greatestFiniteMagnitude, .infinity, -.infinity,
        ]
        for value in values {
            let rows = try await pool.query("SELECT $1::float8, ARRAY[$1::float8]", [value])
            #expect(try rows[0].decode(Double.self, at: 0) == value)
            #expect(try rows[0].decode([Double].self, at: 1) == [value])
        }
        #expect(try await pool.query("SELECT 'NaN'::float8")[0].decode(Double.self, at: 0).isNaN)
        let row = try await pool.query("SELECT ARRAY['x', NULL, 'y'], ARRAY[]::int8[], $1::text[]", [["a\\b"]])[0]
        #expect(try row.decode([String?].self, at: 0) == ["x", nil, "y"])
        #expect(try row.decode([Int].self, at: 1) == [])
        #expect(try row.decode([String].self, at: 2) == ["a\\b"])
        let error = await PG.error { _ = try row.decode([String].self, at: 0) }
        #expect(error == .decoding)
        await pool.close()
    }

    @Test("decoding errors name the column and the types")
    func decodingErrors() async throws {
        let pool = try PG.pool("decode-errors", size: 1)
        let row = try await pool.query("SELECT 'abc'::text AS label, NULL::int8 AS missing")[0]
        let wrongType = await PG.error { _ = try row.decode(Int.self, named: "label") }
        #expect(wrongType == .decoding)
        #expect(wrongType?.column == "label")
        #expect(wrongType?.description.contains("\"label\" of type text as Int") == true)
        let null = await PG.error { _ = try row.decode(Int.self, named: "missing") }
        #expect(null?.description.contains("NULL") == true)
        let unknown = await PG.error { _ = try row.decode(Int.self, named: "nope") }
        #expect(unknown?.column == "nope")
        await pool.close()
    }
}
