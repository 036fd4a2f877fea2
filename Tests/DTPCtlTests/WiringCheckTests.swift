import DTPTestSupport
import Foundation
import Testing

/// Runs the real `dtpctl check` against the servers of the local environment.
@Suite("dtpctl check")
struct WiringCheckTests {
    struct Report: Decodable {
        struct Store: Decodable {
            let store: String
            let status: String
            let version: String?
            let detail: String
            let latency_ms: Double?
        }
        let ok: Bool
        let stores: [Store]

        func store(_ name: String) -> Store? { stores.first { $0.store == name } }
    }

    static var dtpctl: URL {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.path != "/" {
            url.deleteLastPathComponent()
            let candidate = url.appendingPathComponent("dtpctl")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return URL(fileURLWithPath: "/nonexistent/dtpctl")
    }

    func run(_ arguments: [String], environment: [String: String]) async throws -> (status: Int32, output: String) {
        try await ChildProcess.run(Self.dtpctl.path, arguments, environment: environment)
    }

    /// The local environment's settings, without the inherited process environment's.
    func localSettings() throws -> [String: String] {
        let env = TestEnvironment.shared
        var settings: [String: String] = ["PATH": "/usr/bin:/bin"]
        for key in [
            "DTP_PG_URL", "DTP_MQTT_URL", "INFLUX_URL", "INFLUX_DB", "INFLUX_ORG", "INFLUX_BUCKET", "MINIO_ENDPOINT",
            "MINIO_ACCESS_KEY", "MINIO_SECRET_KEY", "MINIO_BUCKET",
        ] {
            settings[key] = try env.require(key)
        }
        return settings
    }

    @Test("passes end to end against every local store, and reports Neo4j as skipped")
    func endToEnd() async throws {
        let (status, output) = try await run(["check", "--json"], environment: try localSettings())
        #expect(status == 0, "\(output)")
        let report = try JSONDecoder().decode(Report.self, from: Data(output.utf8))
        #expect(report.ok)
        for name in ["postgres", "influxdb", "s3", "mqtt"] {
            let store = try #require(report.store(name))
            #expect(store.status == "ok", "\(name): \(store.detail)")
            #expect(store.latency_ms != nil)
        }
        #expect(report.store("postgres")?.version?.hasPrefix("PostgreSQL ") == true)
        #expect(report.store("influxdb")?.version?.hasPrefix("InfluxDB ") == true)
        #expect(report.store("mqtt")?.version?.contains("mosquitto") == true)
        let neo4j = try #require(report.store("neo4j"))
        #expect(neo4j.status == "skip")
        #expect(neo4j.detail.contains("NEO4J_URL"))
    }

    @Test("prints a table, and names a failing store without its password, exiting non-zero")
    func failure() async throws {
        var settings = try localSettings()
        let password = try TestEnvironment.shared.require("PGPASSWORD")
        settings["DTP_PG_URL"] = "postgresql://dtp:\(password)@127.0.0.1:\(TestPorts.free())/dtp"
        settings["MINIO_ENDPOINT"] = nil
        let (status, output) = try await run(["check"], environment: settings)
        #expect(status == 1)
        let lines = output.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("store") == true)
        let postgres = try #require(lines.first { $0.hasPrefix("postgres") })
        #expect(postgres.contains("fail"))
        #expect(lines.contains { $0.hasPrefix("s3") && $0.contains("skip") && $0.contains("MINIO_ENDPOINT") })
        #expect(lines.contains { $0.hasPrefix("mqtt") && $0.contains("ok") })
        #expect(!output.contains(password))
    }
}
