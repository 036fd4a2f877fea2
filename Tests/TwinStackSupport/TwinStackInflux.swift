import DTPHTTP
import DTPInfluxDB
import DTPTestSupport
import Foundation

/// A stack's own database and a central one on the shared InfluxDB 1.x, both dropped at the end.
///
/// Only the central one is created here: the stack creates its own on start, which the tests check.
public struct TwinStackInflux: Sendable {
    /// The shared InfluxDB.
    public let url: String
    /// A client of the stack's own database.
    public let local: InfluxDBClient
    /// A client of the central database.
    public let central: InfluxDBClient

    /// Two fresh database names on the shared server; only the central one is created.
    public static func make(http: HTTPClient) async throws -> TwinStackInflux {
        let url = try TestEnvironment.shared.require("INFLUX_URL")
        let id = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        func client(_ role: String) -> InfluxDBClient {
            InfluxDBClient(
                configuration: InfluxDBConfiguration(
                    url: url, api: .v1, database: "dtp_test_\(role)_\(id)", precision: .microseconds),
                httpClient: http)
        }
        let scratch = TwinStackInflux(url: url, local: client("local"), central: client("central"))
        try await scratch.central.createDatabase(scratch.central.configuration.database)
        return scratch
    }

    /// The stack's settings for both: a 1.x server without a token, so `LOCAL_ORG` must not matter.
    public var environment: [String: String] {
        [
            "LOCAL_INFLUX_URL": url, "LOCAL_BUCKET": local.configuration.database, "LOCAL_ORG": "dtp-org",
            "CENTRAL_INFLUX_URL": url, "CENTRAL_INFLUX_BUCKET": central.configuration.database,
        ]
    }

    /// The rows of `statement` in `client`'s database, times in microseconds.
    public static func rows(_ client: InfluxDBClient, _ statement: String) async throws -> [InfluxRow] {
        try await client.query(statement, epoch: .microseconds).series.flatMap(\.rows)
    }

    /// The databases on the server, to see whether the stack created its own.
    public func databases() async throws -> Set<String> {
        Set(try await Self.rows(local, "SHOW DATABASES").compactMap { $0.string("name") })
    }

    /// The measurements of `client`'s database.
    public static func measurements(_ client: InfluxDBClient) async throws -> Set<String> {
        Set(try await rows(client, "SHOW MEASUREMENTS").compactMap { $0.string("name") })
    }

    /// `measurement`'s field keys with their types, and its tag keys.
    public static func schema(_ client: InfluxDBClient, _ measurement: String) async throws -> (
        fields: [String: String], tags: Set<String>
    ) {
        let name = InfluxQL.identifier(measurement)
        var fields: [String: String] = [:]
        for row in try await rows(client, "SHOW FIELD KEYS FROM \(name)") {
            if let key = row.string("fieldKey") { fields[key] = row.string("fieldType") }
        }
        let tags = Set(try await rows(client, "SHOW TAG KEYS FROM \(name)").compactMap { $0.string("tagKey") })
        return (fields, tags)
    }

    /// Runs `body` with fresh databases and drops them afterwards, whether it throws or not.
    public static func with(http: HTTPClient, _ body: (TwinStackInflux) async throws -> Void) async throws {
        let scratch = try await make(http: http)
        do {
            try await body(scratch)
        } catch {
            await scratch.drop()
            throw error
        }
        await scratch.drop()
    }

    /// Drops both databases.
    public func drop() async {
        try? await local.dropDatabase(local.configuration.database)
        try? await central.dropDatabase(central.configuration.database)
    }
}
