import DTPHTTP
import DTPInfluxDB
import DTPTestSupport
import Foundation
import Testing

/// A database of its own on the shared InfluxDB 1.x, dropped at the end.
struct ScratchInflux {
    let http: HTTPClient
    let client: InfluxDBClient
    let database: String

    static func make(gzip: Bool = true, precision: InfluxPrecision = .nanoseconds) async throws -> ScratchInflux {
        let url = try TestEnvironment.shared.require("INFLUX_URL")
        let database = "dtp_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let http = try HTTPClient()
        let client = InfluxDBClient(
            configuration: InfluxDBConfiguration(url: url, api: .v1, database: database, precision: precision, gzip: gzip),
            httpClient: http)
        try await client.createDatabase(database)
        return ScratchInflux(http: http, client: client, database: database)
    }

    func finish() async {
        try? await client.dropDatabase(database)
        await http.shutdown()
    }
}

@Suite("InfluxDB client against the real InfluxDB 1.x")
struct InfluxLiveTests {
    @Test func pingReportsTheServerVersion() async throws {
        let scratch = try await ScratchInflux.make()
        let ping = try await scratch.client.ping()
        let version = try #require(ping.version)
        #expect(version.hasPrefix("1."))
        await scratch.finish()
    }

    @Test func everyFieldTypeAndEscapingCaseRoundTrips() async throws {
        let scratch = try await ScratchInflux.make()
        let tricky: [String: String] = [
            "ta g,=key": "va l,=ue", "plain": "x", "back\\slash": "ends\\in", "quote\"d": "it's \"q\"",
            "unicodé": "ümlaut ✓",
        ]
        let point = InfluxPoint(
            measurement: "wea ther,m=1 \"q\"",
            tags: tricky,
            fields: [
                ("int", .int(-9_223_372_036_854_775_807)), ("float", .float(3.141592653589793)),
                ("tiny", .float(1e-300)), ("whole", .float(2.0)), ("yes", .bool(true)), ("no", .bool(false)),
                ("str", .string(#"say "hi" \ C:\dir\ and a "# + "line\nbreak, = all")),
                ("fi eld,=key", .int(7)), ("empty", .string("")),
            ],
            timestamp: 1_700_000_000_123_456_789)
        try await scratch.client.write([point])

        let result = try await scratch.client.query(
            "SELECT * FROM \(InfluxQL.identifier(point.measurement)) GROUP BY *", epoch: .nanoseconds)
        let series = try #require(result.series.first)
        #expect(result.series.count == 1)
        #expect(series.name == point.measurement)
        #expect(series.tags == tricky)
        let row = try #require(series.rows.first)
        #expect(row.nanoseconds() == point.timestamp)
        #expect(row.int("int") == -9_223_372_036_854_775_807)
        #expect(row.double("float") == 3.141592653589793)
        #expect(row.double("tiny") == 1e-300)
        #expect(row.double("whole") == 2.0)
        #expect(row.bool("yes") == true)
        #expect(row.bool("no") == false)
        #expect(row.string("str") == #"say "hi" \ C:\dir\ and a "# + "line\nbreak, = all")
        #expect(row.int("fi eld,=key") == 7)
        #expect(row.string("empty") == "")
        await scratch.finish()
    }

    @Test(arguments: InfluxPrecision.allCases)
    func timestampsRoundTripAtEachPrecision(precision: InfluxPrecision) async throws {
        let scratch = try await ScratchInflux.make(gzip: false, precision: precision)
        let nanos: Int64 = 1_650_000_000_987_654_321
        try await scratch.client.write([InfluxPoint(measurement: "p", fields: [("v", .int(1))], timestamp: nanos)])
        let rfc = try await scratch.client.query("SELECT v FROM p")
        let epoch = try await scratch.client.query("SELECT v FROM p", epoch: precision)
        let unit = precision.nanosecondsPerUnit
        #expect(rfc.series.first?.rows.first?.nanoseconds() == nanos / unit * unit)
        #expect(epoch.series.first?.rows.first?.int("time") == nanos / unit)
        #expect(epoch.series.first?.rows.first?.nanoseconds() == nanos / unit * unit)
        await scratch.finish()
    }

    @Test func hundredThousandPointsArriveInBatches() async throws {
        let scratch = try await ScratchInflux.make()
        let writer = scratch.client.makeWriter(batchSize: 5000, flushInterval: .seconds(1))
        let base: Int64 = 1_700_000_000_000_000_000
        for chunk in stride(from: 0, to: 100_000, by: 2_500) {
            let points = (chunk..<(chunk + 2_500)).map { index in
                InfluxPoint(
                    measurement: "load", tags: ["car": "c\(index % 8)"],
                    fields: [("v", .float(Double(index) * 0.5)), ("n", .int(Int64(index)))],
                    timestamp: base + Int64(index) * 1_000)
            }
            try await writer.write(points)
        }
        try await writer.close()
        let result = try await scratch.client.query("SELECT COUNT(n), SUM(n) FROM load")
        let row = try #require(result.series.first?.rows.first)
        #expect(row.int("count") == 100_000)
        #expect(row.int("sum") == Int64(99_999 * 100_000 / 2))
        await scratch.finish()
    }

    @Test func aRejectedPointIsReportedByLineAndTheOthersAreStored() async throws {
        let scratch = try await ScratchInflux.make()
        try await scratch.client.write([InfluxPoint(measurement: "r", fields: [("f", .int(1))], timestamp: 1)])
        let points = [
            InfluxPoint(measurement: "r", fields: [("f", .int(2))], timestamp: 2),
            InfluxPoint(measurement: "r", fields: [("f", .string("clash"))], timestamp: 3),
            InfluxPoint(measurement: "r", fields: [("f", .int(4))], timestamp: 4),
        ]
        let error = try await #require(throws: InfluxDBError.self) { try await scratch.client.write(points) }
        #expect(error == .rejectedPoints)
        #expect(error.status == 400)
        #expect(error.message.contains("field type conflict"))
        #expect(error.rejectedLines.map(\.lineNumber) == [2])
        #expect(error.rejectedLines.first?.line == #"r f="clash" 3"#)
        #expect(error.droppedPoints == 1)
        #expect(error.description.hasPrefix("InfluxDB"))
        let count = try await scratch.client.query("SELECT COUNT(f) FROM r")
        #expect(count.series.first?.rows.first?.int("count") == 3)
        await scratch.finish()
    }

    @Test func unparsableLinesAreNamedWithTheServersReason() async throws {
        // InfluxDB 1.6 predates unsigned integers: it refuses `u` fields, which shows the parse-error path.
        let scratch = try await ScratchInflux.make()
        let body = "u v=1i 1\nu v=5u 2\nu v=3i 3\nnot a line\n"
        let error = try await #require(throws: InfluxDBError.self) {
            try await scratch.client.write(lineProtocol: body)
        }
        #expect(error == .rejectedPoints)
        #expect(error.rejectedLines.map(\.lineNumber) == [2, 4])
        #expect(error.rejectedLines.map(\.line) == ["u v=5u 2", "not a line"])
        #expect(error.rejectedLines.first?.reason == "invalid number")
        #expect(error.description.contains("unable to parse"))
        let count = try await scratch.client.query("SELECT COUNT(v) FROM u")
        #expect(count.series.first?.rows.first?.int("count") == 2)
        await scratch.finish()
    }

    @Test func aMissingDatabaseAndABadQueryCarryTheServersMessage() async throws {
        let url = try TestEnvironment.shared.require("INFLUX_URL")
        let http = try HTTPClient()
        let client = InfluxDBClient(
            configuration: InfluxDBConfiguration(url: url, api: .v1, database: "dtp_missing_\(UUID().uuidString.prefix(8))"),
            httpClient: http)
        let write = try await #require(throws: InfluxDBError.self) {
            try await client.write([InfluxPoint(measurement: "m", fields: [("v", .int(1))])])
        }
        #expect(write == .notFound)
        #expect(write.description.contains("InfluxDB"))
        #expect(write.description.contains("database not found"))
        let query = try await #require(throws: InfluxDBError.self) { try await client.query("SELECT v FRM m") }
        #expect(query == .queryFailed)
        #expect(query.description.contains("error parsing query"))
        await http.shutdown()
    }

    @Test func aServerThatIsDownIsNamedInTheError() async throws {
        let http = try HTTPClient()
        let client = InfluxDBClient(
            configuration: InfluxDBConfiguration(url: "http://127.0.0.1:\(TestPorts.free())", database: "x"),
            httpClient: http)
        let error = try await #require(throws: InfluxDBError.self) { try await client.ping() }
        #expect(error == .unavailable)
        #expect(error.description.hasPrefix("InfluxDB unavailable"))
        #expect(error.description.contains("127.0.0.1"))
        await http.shutdown()
    }
}
