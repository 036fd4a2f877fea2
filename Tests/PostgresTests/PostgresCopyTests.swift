import DTPPostgres
import DTPTestSupport
import Foundation
import Testing

@Suite("COPY FROM STDIN")
struct PostgresCopyTests {
    /// A name per row that exercises every COPY escape, unicode and NULL.
    static func name(_ id: Int) -> String? {
        switch id % 7 {
        case 0: nil
        case 1: "tab\there"
        case 2: "line\nbreak\r\nand back\\slash \\N"
        case 3: "ünïcødé 温度 🚀 \(id)"
        default: "plain-\(id)"
        }
    }

    @Test("100,000 rows arrive intact: count, sums and checksums match Swift's")
    func bulkLoad() async throws {
        let pool = try PG.pool("copy", size: 2)
        try await PG.withSchema(pool) { schema in
            try await pool.execute(
                "CREATE TABLE \(schema).obs (id int8, name text, value float8, ts timestamptz, signal uuid)")
            let count = 100_000
            let base = 1_700_000_000_000_000  // microseconds since the epoch
            let signals = (0..<16).map { _ in UUID() }
            let rows: [[any PostgresEncodable]] = (1...count).map { id in
                [
                    id, PostgresCopyTests.name(id), Double(id) * 0.5,
                    Date(timeIntervalSince1970: Double(base + id * 1_001) / 1_000_000), signals[id % 16],
                ]
            }
            let loaded = try await pool.withConnection { connection in
                try await connection.copy(
                    rows: rows, into: "\(schema).obs", columns: ["id", "name", "value", "ts", "signal"],
                    chunkSize: 64 * 1024)
            }
            #expect(loaded == count)

            let expectedNames = (1...count).compactMap { PostgresCopyTests.name($0) }.joined(separator: "|")
            let expectedSignals = (1...count).map { signals[$0 % 16].uuidString.lowercased() }.joined(separator: ",")
            let summary = try await pool.query(
                """
                SELECT count(*), sum(id)::int8, count(name),
                       md5(string_agg(name, '|' ORDER BY id)) = md5($1),
                       count(*) FILTER (WHERE value = id * 0.5),
                       count(*) FILTER (
                           WHERE ts = to_timestamp(0) + ($2::int8 + id * 1001) * interval '1 microsecond'),
                       md5(string_agg(signal::text, ',' ORDER BY id)) = md5($3)
                FROM \(schema).obs
                """,
                [expectedNames, base, expectedSignals])[0]
            #expect(try summary.decode(Int.self, at: 0) == count)
            #expect(try summary.decode(Int.self, at: 1) == count * (count + 1) / 2)
            #expect(try summary.decode(Int.self, at: 2) == (1...count).filter { $0 % 7 != 0 }.count)
            #expect(try summary.decode(Bool.self, at: 3))
            #expect(try summary.decode(Int.self, at: 4) == count)
            #expect(try summary.decode(Int.self, at: 5) == count)
            #expect(try summary.decode(Bool.self, at: 6))
        }
        await pool.close()
    }

    @Test("raw COPY data loads as given; a bad row aborts the whole load with its SQLSTATE")
    func rawAndFailures() async throws {
        let pool = try PG.pool("copy-raw", size: 1)
        try await PG.withSchema(pool) { schema in
            try await pool.execute("CREATE TABLE \(schema).r (id int8 PRIMARY KEY, note text)")
            let loaded = try await pool.withConnection { connection in
                try await connection.copy(
                    "COPY \(schema).r (id, note) FROM STDIN WITH (FORMAT csv)",
                    chunks: [Array("1,one\n2,\"t,wo\"\n".utf8), Array("3,\n".utf8)])
            }
            #expect(loaded == 3)
            let notes = try await pool.query("SELECT note FROM \(schema).r ORDER BY id").map {
                try $0.decode(String?.self, at: 0)
            }
            #expect(notes == ["one", "t,wo", nil])

            let duplicate = await PG.error {
                _ = try await pool.withConnection { connection in
                    try await connection.copy(
                        rows: [[10, "x"], [3, "dup"]], into: "\(schema).r", columns: ["id", "note"])
                }
            }
            #expect(duplicate?.sqlState == "23505")
            let badShape = await PG.error {
                _ = try await pool.withConnection { connection in
                    try await connection.copy(rows: [[11, "x"], [12]], into: "\(schema).r", columns: ["id", "note"])
                }
            }
            #expect(badShape == .encoding)
            #expect(try await pool.query("SELECT count(*) FROM \(schema).r")[0].decode(Int.self, at: 0) == 3)
        }
        await pool.close()
    }
}
