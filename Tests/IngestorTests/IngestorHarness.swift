import DTPHTTP
import DTPInfluxDB
import DTPMQTT
import DTPPostgres
import DTPTestSupport
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// What the ingestor tests share: the built binaries, a database and an InfluxDB database of their own,
/// spawned processes, MQTT publishing and waiting.
enum Harness {
    static let environment = TestEnvironment.shared

    /// The folder of the built executables (next to the test bundle).
    static var binFolder: URL {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("dtp-ingestor").path) {
                return url
            }
        }
        return URL(fileURLWithPath: "/nonexistent")
    }

    static func binary(_ name: String) throws -> String {
        let path = binFolder.appendingPathComponent(name).path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw HarnessError("\(name) is not built next to the tests: swift build --build-tests")
        }
        return path
    }

    static func uniqueName(_ prefix: String) -> String {
        prefix + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20)
    }

    // MARK: Postgres

    /// A fresh database on the server at `port` (the shared one by default); returns its name.
    static func createDatabase(port: Int? = nil) async throws -> String {
        let pool = try adminPool(port: port)
        defer { Task { await pool.close() } }
        let name = uniqueName("ing_")
        try await pool.execute("CREATE DATABASE \(name)")
        return name
    }

    static func dropDatabase(_ name: String, port: Int? = nil) async {
        guard let pool = try? adminPool(port: port) else { return }
        for _ in 0..<50 {
            do {
                try await pool.execute("DROP DATABASE IF EXISTS \(name)")
                break
            } catch {
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        _ = try? await pool.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        await pool.close()
    }

    static func adminPool(port: Int? = nil) throws -> PostgresPool {
        var configuration = try PostgresConfiguration(url: try environment.require("DTP_PG_URL"))
        if let port { configuration.port = port }
        return PostgresPool(configuration: configuration, size: 1)
    }

    /// A pool on `database`.
    static func pool(_ database: String, port: Int? = nil) throws -> PostgresPool {
        var configuration = try PostgresConfiguration(url: try environment.require("DTP_PG_URL"))
        configuration.database = database
        if let port { configuration.port = port }
        return PostgresPool(configuration: configuration, size: 2, acquireTimeout: .seconds(3))
    }

    /// The libpq variables of `database` for a child process.
    static func postgresEnvironment(_ database: String, port: Int? = nil) throws -> [String: String] {
        let configuration = try PostgresConfiguration(url: try environment.require("DTP_PG_URL"))
        return [
            "PGHOST": configuration.host, "PGPORT": String(port ?? configuration.port),
            "PGUSER": try environment.require("PGUSER"),
            "PGPASSWORD": try environment.require("PGPASSWORD"), "PGDATABASE": database,
        ]
    }

    /// The first integer of the first row of `sql`, or nil when the query failed.
    static func scalar(_ pool: PostgresPool, _ sql: String) async -> Int? {
        guard let rows = try? await pool.query(sql), let row = rows.first else { return nil }
        if let value = try? row.decode(Int.self, at: 0) { return value }
        return nil
    }

    // MARK: InfluxDB

    static func influx(database: String, url: String? = nil, http: HTTPClient) throws -> InfluxDBClient {
        let base = try url ?? environment.require("INFLUX_URL")
        return InfluxDBClient(configuration: InfluxDBConfiguration(url: base, database: database), httpClient: http)
    }

    /// The count of `field` in `measurement`, or 0.
    static func influxCount(_ client: InfluxDBClient, _ measurement: String, field: String) async -> Int {
        let statement = "SELECT count(\(InfluxQL.identifier(field))) FROM \(InfluxQL.identifier(measurement))"
        guard let result = try? await client.query(statement),
            let value = result.series.first?.rows.first?.values.last
        else { return 0 }
        return Int(value.int ?? Int64(value.double ?? 0))
    }

    // MARK: MQTT

    static func mqttPort() throws -> Int { Int(try environment.require("MQTT_BROKER_PORT"))! }

    /// A connected publisher on the broker at `port`.
    static func publisher(port: Int) async throws -> MQTTClient {
        var configuration = MQTTConfiguration(host: "127.0.0.1", port: port, clientID: uniqueName("pub-"))
        configuration.reconnectDelayMin = .seconds(1)
        configuration.reconnectDelayMax = .seconds(1)
        let client = try MQTTClient(configuration: configuration)
        try await client.connect()
        return client
    }

    /// Publishes until the broker acknowledges it, through broker restarts.
    static func publishSurely(_ client: MQTTClient, _ payload: String, to topic: String, qos: MQTTQoS = .atLeastOnce)
        async
    {
        while true {
            do {
                try await client.publish(payload, to: topic, qos: qos)
                return
            } catch {
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    // MARK: Waiting

    /// Polls `condition` every 100 ms until it holds or `seconds` passed; returns whether it held.
    static func eventually(seconds: Double = 20, _ condition: () async -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return await condition()
    }

    static func temporaryDirectory() -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("dtp-ingest-")).path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// A spawned `dtp-ingestor` (or other service) process, with its output in a file.
final class ServiceProcess: Sendable {
    let pid: pid_t
    let logPath: String
    let port: Int
    private let reaped = Mutex(false)

    init(binary: String, environment: [String: String], port: Int) throws {
        self.port = port
        logPath =
            FileManager.default.temporaryDirectory
            .appendingPathComponent(Harness.uniqueName("dtp-svc-") + ".log").path
        do {
            pid = try ChildProcess.spawn(binary, environment: environment, output: logPath)
        } catch {
            throw HarnessError("cannot start \(binary): \(error)")
        }
    }

    deinit {
        try? FileManager.default.removeItem(atPath: logPath)
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Sends `signal` and waits (on a thread of its own) for the process to exit; returns its status.
    @discardableResult
    func stop(_ signal: Int32 = SIGTERM, timeout: Double = 40) async -> Int32 {
        if reaped.withLock({ $0 }) { return 0 }
        kill(pid, signal)
        let pid = self.pid
        let status: Int32 = await withCheckedContinuation { continuation in
            Thread {
                var status: Int32 = 0
                let deadline = Date().addingTimeInterval(timeout)
                while true {
                    let result = waitpid(pid, &status, WNOHANG)
                    if result == pid { break }
                    if result < 0 && errno != EINTR { break }
                    if Date() > deadline {
                        kill(pid, SIGKILL)
                        waitpid(pid, &status, 0)
                        break
                    }
                    usleep(20_000)
                }
                continuation.resume(returning: status)
            }.start()
        }
        reaped.withLock { $0 = true }
        return status
    }

    /// The log so far.
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Waits until `/readyz` answers 200.
    func waitUntilReady(_ http: HTTPClient, seconds: Double = 60) async -> Bool {
        await Harness.eventually(seconds: seconds) {
            let request = HTTPRequest(url: baseURL + "/readyz", timeout: .after(.seconds(2)))
            return (try? await http.execute(request))?.status == 200
        }
    }

    /// The value of the Prometheus series whose line starts with `prefix`, summed over its labels.
    func metric(_ http: HTTPClient, _ prefix: String) async -> Double {
        guard let response = try? await http.execute(HTTPRequest(url: baseURL + "/metrics")) else { return 0 }
        return response.bodyText.split(separator: "\n").filter { $0.hasPrefix(prefix) }.compactMap {
            $0.split(separator: " ").last.flatMap { Double($0) }
        }.reduce(0, +)
    }
}

/// An ingestor with its own database, InfluxDB database, spool and settings, on the shared servers unless
/// told otherwise.
struct IngestorSetup: Sendable {
    var database: String
    var influxDatabase: String
    var influxURL: String
    var pgPort: Int?
    var mqttPort: Int
    var topics: [String]
    var group: String
    var spool: String
    var token = "test-token-" + UUID().uuidString
    var extra: [String: String] = [:]

    static func make(topics: [String], pgPort: Int? = nil, mqttPort: Int? = nil, influxURL: String? = nil) async throws
        -> IngestorSetup
    {
        IngestorSetup(
            database: try await Harness.createDatabase(port: pgPort), influxDatabase: Harness.uniqueName("ingest_"),
            influxURL: try influxURL ?? Harness.environment.require("INFLUX_URL"), pgPort: pgPort,
            mqttPort: try mqttPort ?? Harness.mqttPort(), topics: topics, group: Harness.uniqueName("grp"),
            spool: Harness.temporaryDirectory())
    }

    /// Starts an ingestor process with client id `clientID`.
    func start(clientID: String = Harness.uniqueName("ing-")) throws -> ServiceProcess {
        let port = TestPorts.free()
        var environment = try Harness.postgresEnvironment(database, port: pgPort)
        environment["PATH"] = "/usr/bin:/bin"
        environment["DTP_HTTP_PORT"] = String(port)
        environment["DTP_MQTT_URL"] = "mqtt://127.0.0.1:\(mqttPort)"
        environment["INFLUX_URL"] = influxURL
        environment["INFLUX_DB"] = influxDatabase
        environment["DTP_INGEST_TOPICS"] = topics.joined(separator: ",")
        environment["DTP_INGEST_GROUP"] = group
        environment["DTP_INGEST_CLIENT_ID"] = clientID
        environment["DTP_SPOOL_DIR"] = spool
        environment["DTP_SERVICE_TOKENS"] = "test:\(token)"
        environment["DTP_INGEST_BATCH_MS"] = "20"
        environment["DTP_INGEST_RETRY_MAX_SECONDS"] = "1"
        environment["LOG_LEVEL"] = "info"
        environment.merge(extra) { _, new in new }
        return try ServiceProcess(binary: try Harness.binary("dtp-ingestor"), environment: environment, port: port)
    }

    func cleanUp(http: HTTPClient) async {
        await Harness.dropDatabase(database, port: pgPort)
        if let influx = try? Harness.influx(database: influxDatabase, url: influxURL, http: http) {
            try? await influx.dropDatabase(influxDatabase)
        }
        try? FileManager.default.removeItem(atPath: spool)
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
