import DTPHTTP
import DTPInfluxDB
import DTPTestSupport
import Foundation
import Synchronization
import Testing

/// What the stand-in server saw.
final class RequestLog: Sendable {
    private let requests = Mutex<[TestHTTPServer.Request]>([])

    func append(_ request: TestHTTPServer.Request) { requests.withLock { $0.append(request) } }
    var all: [TestHTTPServer.Request] { requests.withLock { $0 } }
    var count: Int { requests.withLock { $0.count } }
}

/// gunzips with the system's gzip, so that the check does not share code with the client's compressor.
func gunzip(_ data: Data) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/gzip")
    process.arguments = ["-dc"]
    let input = Pipe()
    let output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    try process.run()
    input.fileHandleForWriting.write(data)
    try input.fileHandleForWriting.close()
    let result = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: result, as: UTF8.self)
}

/// InfluxDB 2.x's write API and the failure modes the local 1.6 cannot show, against a stand-in server.
@Suite("InfluxDB client against a stand-in server")
struct InfluxProtocolTests {
    static let token = "tok-" + UUID().uuidString

    func v2Configuration(_ server: TestHTTPServer, maxAttempts: Int = 5) -> InfluxDBConfiguration {
        InfluxDBConfiguration(
            url: server.baseURL, org: "dtp org", bucket: "sig&nals", token: Self.token, precision: .milliseconds,
            maxAttempts: maxAttempts, retryBaseDelay: .milliseconds(20), maxRetryDelay: .seconds(5))
    }

    @Test func v2WritesCarryTheTokenOrgBucketPrecisionAndAGzipBody() async throws {
        let log = RequestLog()
        let server = try TestHTTPServer { request, connection in
            log.append(request)
            connection.respond(status: 204)
            return .keepAlive
        }
        defer { server.stop() }
        let http = try HTTPClient()
        let client = InfluxDBClient(configuration: v2Configuration(server), httpClient: http)
        #expect(client.configuration.api == .v2)
        let points = [
            InfluxPoint(measurement: "m", tags: ["t": "1"], fields: [("v", .float(1.5))], timestamp: 1_700_000_000_123_000_000),
            InfluxPoint(measurement: "m", fields: [("u", .uint(7))], timestamp: 1_700_000_000_124_000_000),
        ]
        try await client.write(points)
        let request = try #require(log.all.first)
        #expect(request.method == "POST")
        #expect(request.target == "/api/v2/write?org=dtp%20org&bucket=sig%26nals&precision=ms")
        #expect(request.header("Authorization") == "Token \(Self.token)")
        #expect(request.header("Content-Encoding") == "gzip")
        #expect(request.header("Content-Type") == "text/plain; charset=utf-8")
        #expect(try gunzip(request.body) == "m,t=1 v=1.5 1700000000123\nm u=7u 1700000000124\n")
        await http.shutdown()
    }

    @Test func v1WritesUseDbPrecisionAndBasicAuth() async throws {
        let log = RequestLog()
        let server = try TestHTTPServer { request, connection in
            log.append(request)
            connection.respond(status: 204)
            return .keepAlive
        }
        defer { server.stop() }
        let http = try HTTPClient()
        let config = InfluxDBConfiguration(
            url: server.baseURL, database: "sig nals", username: "writer", password: "pa:ss", precision: .microseconds,
            gzip: false)
        try await InfluxDBClient(configuration: config, httpClient: http).write(
            [InfluxPoint(measurement: "m", fields: [("v", .int(1))], timestamp: 5_000)])
        let request = try #require(log.all.first)
        #expect(request.target == "/write?db=sig%20nals&precision=u")
        #expect(request.header("Authorization") == "Basic " + Data("writer:pa:ss".utf8).base64EncodedString())
        #expect(request.header("Content-Encoding") == nil)
        #expect(String(decoding: request.body, as: UTF8.self) == "m v=1i 5\n")
        await http.shutdown()
    }

    @Test func retriesOn429AndHonoursRetryAfterSeconds() async throws {
        let log = RequestLog()
        let server = try TestHTTPServer { request, connection in
            log.append(request)
            if log.count == 1 {
                connection.respond(
                    status: 429, headers: [("Retry-After", "1"), ("Content-Type", "application/json")],
                    body: Data(#"{"code":"too many requests","message":"slow down"}"#.utf8))
            } else {
                connection.respond(status: 204)
            }
            return .keepAlive
        }
        defer { server.stop() }
        let http = try HTTPClient()
        let client = InfluxDBClient(configuration: v2Configuration(server), httpClient: http)
        let start = ContinuousClock.now
        try await client.write([InfluxPoint(measurement: "m", fields: [("v", .int(1))])])
        let waited = ContinuousClock.now - start
        #expect(log.count == 2)
        #expect(waited >= .milliseconds(950), "Retry-After: 1 must be honoured, waited \(waited)")
        #expect(log.all[0].body == log.all[1].body)
        await http.shutdown()
    }

    @Test func gives503UpAfterTheBoundedAttemptsWithTheServersMessage() async throws {
        let log = RequestLog()
        let server = try TestHTTPServer { request, connection in
            log.append(request)
            connection.respond(
                status: 503, headers: [("Content-Type", "application/json")],
                body: Data(#"{"code":"unavailable","message":"engine is busy"}"#.utf8))
            return .keepAlive
        }
        defer { server.stop() }
        let http = try HTTPClient()
        let client = InfluxDBClient(configuration: v2Configuration(server, maxAttempts: 3), httpClient: http)
        let error = try await #require(throws: InfluxDBError.self) {
            try await client.write([InfluxPoint(measurement: "m", fields: [("v", .int(1))])])
        }
        #expect(error == .throttled)
        #expect(error.status == 503)
        #expect(error.description.contains("engine is busy"))
        #expect(log.count == 3)
        await http.shutdown()
    }

    @Test func retryAfterAcceptsSecondsAndHTTPDates() {
        let now = Date(timeIntervalSince1970: 1_700_000_000)  // Tue, 14 Nov 2023 22:13:20 GMT
        #expect(InfluxDBClient.parseRetryAfter("7", now: now) == .seconds(7))
        #expect(InfluxDBClient.parseRetryAfter("Tue, 14 Nov 2023 22:13:25 GMT", now: now) == .seconds(5))
        #expect(InfluxDBClient.parseRetryAfter("Tue, 14 Nov 2023 22:13:00 GMT", now: now) == .zero)
        #expect(InfluxDBClient.parseRetryAfter("soon", now: now) == nil)
    }

    @Test func v2ParseErrorsAreReportedPerLine() async throws {
        let message =
            "failed to parse line protocol:\nerrors encountered on line(s):\nline 2: invalid field format\n"
            + "line 4: missing tag value"
        let server = try TestHTTPServer { _, connection in
            let body = try! JSONSerialization.data(withJSONObject: ["code": "invalid", "message": message])
            connection.respond(status: 400, headers: [("Content-Type", "application/json")], body: body)
            return .keepAlive
        }
        defer { server.stop() }
        let http = try HTTPClient()
        let client = InfluxDBClient(configuration: v2Configuration(server), httpClient: http)
        let body = "m v=1 1\nm v 2\nm v=3 3\nm,t v=4 4\n"
        let error = try await #require(throws: InfluxDBError.self) { try await client.write(lineProtocol: body) }
        #expect(error == .rejectedPoints)
        #expect(
            error.rejectedLines == [
                InfluxRejectedLine(lineNumber: 2, line: "m v 2", reason: "invalid field format"),
                InfluxRejectedLine(lineNumber: 4, line: "m,t v=4 4", reason: "missing tag value"),
            ])
        #expect(error.description.contains("line 2: invalid field format"))
        await http.shutdown()
    }

    @Test func aWrongTokenIsUnauthorizedAndTheTokenIsNeverShown() async throws {
        let server = try TestHTTPServer { _, connection in
            connection.respond(
                status: 401, headers: [("Content-Type", "application/json")],
                body: Data(#"{"code":"unauthorized","message":"unauthorized access"}"#.utf8))
            return .keepAlive
        }
        defer { server.stop() }
        let http = try HTTPClient()
        let client = InfluxDBClient(configuration: v2Configuration(server), httpClient: http)
        let error = try await #require(throws: InfluxDBError.self) {
            try await client.write([InfluxPoint(measurement: "m", fields: [("v", .int(1))])])
        }
        #expect(error == .unauthorized)
        #expect(error.description == "InfluxDB unauthorized (HTTP 401): unauthorized access")
        #expect(!"\(error)".contains(Self.token))
        #expect(!"\(client.configuration)".contains(Self.token))
        await http.shutdown()
    }

    @Test func theWriterFlushesBySizeOnDemandAndByTime() async throws {
        let log = RequestLog()
        let server = try TestHTTPServer { request, connection in
            log.append(request)
            connection.respond(status: 204)
            return .keepAlive
        }
        defer { server.stop() }
        let http = try HTTPClient()
        var config = v2Configuration(server)
        config.gzip = false
        let client = InfluxDBClient(configuration: config, httpClient: http)
        let point = { (i: Int) in InfluxPoint(measurement: "m", fields: [("v", .int(Int64(i)))], timestamp: Int64(i)) }

        let sized = client.makeWriter(batchSize: 3, flushInterval: nil)
        try await sized.write((0..<7).map(point))
        #expect(log.count == 2)
        #expect(await sized.pendingCount == 1)
        try await sized.flush()
        #expect(log.count == 3)
        let bodies = log.all.map { String(decoding: $0.body, as: UTF8.self) }
        #expect(bodies == ["m v=0i 0\nm v=1i 0\nm v=2i 0\n", "m v=3i 0\nm v=4i 0\nm v=5i 0\n", "m v=6i 0\n"])
        try await sized.close()

        let timed = client.makeWriter(batchSize: 1000, flushInterval: .milliseconds(100))
        try await timed.write(point(9))
        for _ in 0..<100 where log.count < 4 { try await Task.sleep(for: .milliseconds(50)) }
        #expect(log.count == 4)
        #expect(await timed.pendingCount == 0)
        try await timed.close()
        await http.shutdown()
    }

    @Test func configurationComesFromTheEnvironment() throws {
        let v1 = try #require(
            try InfluxDBConfiguration(environment: [
                "INFLUX_URL": "http://127.0.0.1:8086/", "INFLUX_BUCKET": "signals", "INFLUX_USER": "u",
                "INFLUX_PASSWORD": "hunter2-secret",
            ]))
        #expect(v1.api == .v1)
        #expect(v1.database == "signals")
        #expect(v1.url == "http://127.0.0.1:8086")
        #expect(!v1.description.contains("hunter2-secret"))

        let v2 = try #require(
            try InfluxDBConfiguration(environment: [
                "INFLUX_URL": "http://h:8086", "INFLUX_ORG": "o", "INFLUX_BUCKET": "b", "INFLUX_TOKEN": Self.token,
                "INFLUX_DB": "legacy",
            ]))
        #expect(v2.api == .v2)
        #expect(v2.database == "legacy")
        #expect(!v2.description.contains(Self.token))

        let forced = try #require(
            try InfluxDBConfiguration(environment: [
                "INFLUX_URL": "http://h:8086", "INFLUX_TOKEN": Self.token, "INFLUX_DB": "d", "INFLUX_API": "v1",
            ]))
        #expect(forced.api == .v1)

        #expect(try InfluxDBConfiguration(environment: [:]) == nil)
        let error = #expect(throws: InfluxDBError.self) {
            try InfluxDBConfiguration(environment: [
                "INFLUX_URL": "ftp://h", "INFLUX_API": "v3", "INFLUX_TOKEN": Self.token, "INFLUX_PRECISION": "m",
            ])
        }
        let text = "\(error.map { "\($0)" } ?? "")"
        for name in ["INFLUX_URL", "INFLUX_API", "INFLUX_PRECISION", "INFLUX_ORG", "INFLUX_BUCKET"] {
            #expect(text.contains(name), "\(name) missing from \(text)")
        }
        #expect(!text.contains(Self.token))
    }
}
