import DTPHTTP
import DTPInfluxDB
import DTPMQTT
import DTPPostgres
import DTPTestSupport
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The ingestor end to end, MQTT → Postgres + InfluxDB, with `dtp-lift --fleet` as the load, against
/// (a) the bare C libmosquitto subscriber (`Benchmarks/c/mqtt_sub.c`) on the same stream from the same
/// broker and (b) `psql \copy` of the same rows; then its RSS while the database takes nothing (overload).
///
/// - QoS 1: the fleet publishes N messages into the persistent session of a stopped ingestor (and of the
///   C subscriber); each then starts and drains it. The ingestor's time runs from its process start to the
///   moment the N-th row is in both stores (so it includes start-up: a lower bound); the C subscriber's
///   from its first to its last message.
/// - QoS 0: the fleet publishes at 20,000/s while the subscriber runs (QoS 0 is not queued for an
///   offline session); the rate is stored messages over the time from the fleet's start to the last row.
/// - Overload: the observation table is locked, so the database takes nothing, while the fleet publishes
///   N messages; RSS is sampled every 100 ms; then the lock goes and every message must arrive.
enum IngestBenchmark {
    static func run(messages: Int = 50_000) async throws {
        let environment = try benchEnvironment()
        guard let url = environment["DTP_MQTT_URL"], let components = URLComponents(string: url),
            let host = components.host
        else { throw BenchmarkFailure(message: "DTP_MQTT_URL is not set") }
        let mqttPort = components.port ?? 1883
        let ingestorBinary = try sibling("dtp-ingestor")
        let lift = try sibling("dtp-lift")
        let cSubscriber = try buildCSubscriber()
        let adminURL = try TestEnvironment.shared.require("DTP_PG_URL")
        let admin = PostgresPool(configuration: try PostgresConfiguration(url: adminURL), size: 1)
        let database = "bench_ingest_" + UUID().uuidString.prefix(8).lowercased()
        try await admin.execute("CREATE DATABASE \(database)")
        var pgConfiguration = try PostgresConfiguration(url: adminURL)
        pgConfiguration.database = database
        let pool = PostgresPool(configuration: pgConfiguration, size: 2)
        let http = try HTTPClient()
        let influxDatabase = "bench_ingest_" + UUID().uuidString.prefix(8).lowercased()
        let influx = InfluxDBClient(
            configuration: InfluxDBConfiguration(
                url: try TestEnvironment.shared.require("INFLUX_URL"), database: influxDatabase),
            httpClient: http)
        let spool = NSTemporaryDirectory() + "dtp-bench-spool-" + UUID().uuidString
        let load = loadAverage()
        print("Ingest benchmark: \(messages) fleet messages per case via \(host):\(mqttPort), load average \(load)")
        var ingestEnvironment = environment
        ingestEnvironment["DTP_PG_URL"] = nil
        for key in ["PGHOST", "PGPORT", "PGUSER", "PGPASSWORD"] {
            ingestEnvironment[key] = try TestEnvironment.shared.require(key)
        }
        ingestEnvironment["PGDATABASE"] = database
        ingestEnvironment["INFLUX_DB"] = influxDatabase
        ingestEnvironment["DTP_SPOOL_DIR"] = spool
        ingestEnvironment["DTP_REGISTRY_URL"] = nil
        ingestEnvironment["LOG_LEVEL"] = "warning"
        ingestEnvironment["DTP_SERVICE_TOKENS"] = "bench:bench"
        // A plain subscription: the QoS 1 case fills the session of a stopped ingestor, and a plain
        // subscription is what Mosquitto surely queues for an offline session.
        ingestEnvironment["DTP_INGEST_SHARED"] = "false"
        var cleanup: [ServiceRun] = []
        defer { for process in cleanup { process.stop(SIGKILL) } }
        // DTP_BENCH_INGEST_CASES (qos1,qos0,overload; all by default) runs some of the cases, for profiling.
        let cases = Set(
            (environment["DTP_BENCH_INGEST_CASES"] ?? "qos1,qos0,overload").split(separator: ",").map(String.init))
        do {
            let clientID = "dtp-bench-ingestor-" + UUID().uuidString.prefix(8)
            var env = ingestEnvironment
            env["DTP_INGEST_CLIENT_ID"] = clientID
            env["DTP_INGEST_GROUP"] = "bench" + UUID().uuidString.prefix(8)
            if cases.contains("qos1") {
                // QoS 1, backlog drain.
                let topic1 = "dtp-bench/ingest/" + UUID().uuidString.prefix(8) + "/telemetry"
                env["DTP_INGEST_TOPICS"] = topic1
                env["DTP_HTTP_PORT"] = String(TestPorts.free())
                var ingestor = try ServiceRun(ingestorBinary, environment: env)
                cleanup.append(ingestor)
                try await waitForSubscription(http, port: Int(env["DTP_HTTP_PORT"]!)!)
                ingestor.stop(SIGTERM)
                try fleet(lift, environment: environment, topic: topic1, count: messages, rate: 20_000, qos: 1)
                let started = ContinuousClock.now
                ingestor = try ServiceRun(ingestorBinary, environment: env)
                cleanup.append(ingestor)
                let (firstReceipt, allReceived) = try await waitForStored(
                    http, port: Int(env["DTP_HTTP_PORT"]!)!, count: messages, timeout: 300)
                let ingestSeconds = (ContinuousClock.now - started).seconds
                let ingestRate = Double(messages) / ingestSeconds
                let drainSeconds = (ContinuousClock.now - firstReceipt).seconds
                let drainRate = Double(messages) / drainSeconds
                let storeTimes = try await storeTimes(http, port: Int(env["DTP_HTTP_PORT"]!)!)
                ingestor.stop(SIGTERM)

                let cTopic = "dtp-bench/ingest-c/" + UUID().uuidString.prefix(8)
                let cClient = "dtp-bench-csub-" + UUID().uuidString.prefix(8)
                try await prepareSession(host: host, port: mqttPort, clientID: cClient, topic: cTopic)
                try fleet(lift, environment: environment, topic: cTopic, count: messages, rate: 20_000, qos: 1)
                let cRate = try runCSubscriber(
                    cSubscriber, host: host, port: mqttPort, topic: cTopic, count: messages, clientID: cClient)
                try await removeSession(host: host, port: mqttPort, clientID: cClient)

                let psqlRate = try await psqlCopyRate(
                    pool: pool, environment: environment, database: database, rows: messages)
                let goal = 0.8 * min(cRate, psqlRate)
                print(
                    String(
                        format:
                            "  QoS 1 ingestor (MQTT -> Postgres + InfluxDB): %8.0f msg/s from its first message "
                                + "(%.2f s); "
                                + "%8.0f msg/s from process start (%.2f s)",
                        drainRate, drainSeconds, ingestRate, ingestSeconds))
                print(
                    String(
                        format:
                            "    all %d messages in the spool %.2f s after the first; %d batches, whose writes took "
                            + "Postgres %.2f s and InfluxDB %.2f s in all",
                        messages, (allReceived - firstReceipt).seconds, Int(storeTimes.batches), storeTimes.postgres,
                        storeTimes.influx))
                print(String(format: "  (a) C libmosquitto subscriber, same stream : %8.0f msg/s", cRate))
                print(String(format: "  (b) psql \\copy of the same rows           : %8.0f rows/s", psqlRate))
                print(
                    String(
                        format: "  ratio ingestor / min(a, b): %.3f (goal 0.8: %@), lost: %d",
                        drainRate / min(cRate, psqlRate), drainRate >= goal ? "met" : "not met",
                        messages - (await count(pool, influx, measurement: "telemetry").postgres)))
            }

            if cases.contains("qos0") {
                // QoS 0, live.
                let topic0 = "dtp-bench/ingest0/" + UUID().uuidString.prefix(8) + "/telemetry"
                env["DTP_INGEST_TOPICS"] = topic0
                env["DTP_INGEST_CLIENT_ID"] = clientID + "-q0"
                env["DTP_HTTP_PORT"] = String(TestPorts.free())
                let ingestor = try ServiceRun(ingestorBinary, environment: env)
                cleanup.append(ingestor)
                try await waitForSubscription(http, port: Int(env["DTP_HTTP_PORT"]!)!)
                let before = await count(pool, influx, measurement: "telemetry")
                let liveStart = ContinuousClock.now
                try fleet(lift, environment: environment, topic: topic0, count: messages, rate: 20_000, qos: 0)
                let (stored0, seconds0) = try await waitForStable(
                    pool, influx, measurement: "telemetry", from: before, start: liveStart)
                ingestor.stop(SIGTERM)
                let c0 = try runCSubscriberLive(
                    cSubscriber, host: host, port: mqttPort, count: messages, lift: lift, environment: environment)
                print(
                    String(
                        format:
                            "  QoS 0 ingestor live: %d of %d stored, %8.0f msg/s; "
                                + "C subscriber live: %d of %d, %8.0f msg/s",
                        stored0, messages, Double(stored0) / seconds0, c0.received, messages, c0.rate))
            }

            if cases.contains("overload") {
                // Overload: the database takes nothing while the fleet publishes.
                let topicO = "dtp-bench/ingest-over/" + UUID().uuidString.prefix(8) + "/telemetry"
                env["DTP_INGEST_TOPICS"] = topicO
                env["DTP_INGEST_CLIENT_ID"] = clientID + "-over"
                env["DTP_HTTP_PORT"] = String(TestPorts.free())
                let ingestor = try ServiceRun(ingestorBinary, environment: env)
                cleanup.append(ingestor)
                try await waitForSubscription(http, port: Int(env["DTP_HTTP_PORT"]!)!)
                let idle = ingestor.rssMiB() ?? 0
                let base = await count(pool, influx, measurement: "telemetry")
                let peak = try await overload(
                    pool: pgConfiguration, ingestor: ingestor, lift: lift, environment: environment, topic: topicO,
                    count: messages)
                try await waitForStored(http, port: Int(env["DTP_HTTP_PORT"]!)!, count: messages, timeout: 300)
                let after = await count(pool, influx, measurement: "telemetry")
                print(
                    String(
                        format:
                            "  overload (table locked while %d messages arrive at QoS 1): RSS idle %.1f MiB, "
                                + "peak %.1f MiB; "
                                + "in memory: at most four batches of up to 5,000 messages; lost %d",
                        messages, idle, peak, base.postgres + messages - after.postgres))
                ingestor.stop(SIGTERM)
            }
            print("  load average after: \(loadAverage())")
        } catch {
            await finish()
            throw error
        }
        await finish()

        func finish() async {
            for process in cleanup { process.stop(SIGKILL) }
            await pool.close()
            _ = try? await admin.execute("DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
            await admin.close()
            try? await influx.dropDatabase(influxDatabase)
            await http.shutdown()
            try? FileManager.default.removeItem(atPath: spool)
        }
    }

    // MARK: Steps

    static func fleet(_ lift: String, environment: [String: String], topic: String, count: Int, rate: Int, qos: Int)
        throws
    {
        var env = environment
        env["MQTT_TELEMETRY_TOPIC"] = topic
        env["VIB_THRESHOLD"] = "1000"
        env["LOG_LEVEL"] = "warning"
        let seconds = max(1, count / rate)
        _ = try BenchProcess.output(
            of: lift,
            [
                "--fleet", "1000", "--rate", "\(count / seconds)/s", "--duration", String(seconds), "--fleet-qos",
                String(qos),
            ],
            environment: env)
    }

    static func count(_ pool: PostgresPool, _ influx: InfluxDBClient, measurement: String) async -> (
        postgres: Int, influx: Int
    ) {
        let rows = try? await pool.query("SELECT count(*)::bigint FROM telemetry.observation")
        let postgres = (try? rows?.first?.decode(Int.self, at: 0)) ?? 0
        var points = 0
        if let result = try? await influx.query("SELECT count(rms) FROM \(measurement)"),
            let value = result.series.first?.rows.first?.values.last
        {
            points = Int(value.int ?? 0)
        }
        return (postgres, points)
    }

    /// Waits until the row count stops growing for 2 s; the stored count and the seconds from `start` to the last growth.
    static func waitForStable(
        _ pool: PostgresPool, _ influx: InfluxDBClient, measurement: String, from before: (postgres: Int, influx: Int),
        start: ContinuousClock.Instant
    ) async throws -> (Int, Double) {
        var last = await count(pool, influx, measurement: measurement)
        var lastChange = ContinuousClock.now
        while ContinuousClock.now - lastChange < .seconds(2) {
            try await Task.sleep(for: .milliseconds(50))
            let now = await count(pool, influx, measurement: measurement)
            if now != last {
                last = now
                lastChange = .now
            }
        }
        return (last.postgres - before.postgres, (lastChange - start).seconds)
    }

    /// Waits until the ingestor's `messages_stored_total` (counted once a batch is in both stores) reaches
    /// `count`; returns when `messages_received_total` was first seen above zero and when it was first seen
    /// at `count` (polled every 20 ms).
    @discardableResult
    static func waitForStored(_ http: HTTPClient, port: Int, count: Int, timeout: Double) async throws
        -> (first: ContinuousClock.Instant, all: ContinuousClock.Instant)
    {
        let deadline = Date().addingTimeInterval(timeout)
        var stored = 0.0
        var firstReceipt: ContinuousClock.Instant?
        var allReceived: ContinuousClock.Instant?
        func sum(_ text: String, _ prefix: String) -> Double {
            text.split(separator: "\n").filter { $0.hasPrefix(prefix) }
                .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
        }
        while Date() < deadline {
            if let response = try? await http.execute(HTTPRequest(url: "http://127.0.0.1:\(port)/metrics")) {
                let received = sum(response.bodyText, "dtp_ingestor_messages_received_total")
                if firstReceipt == nil && received > 0 { firstReceipt = .now }
                if allReceived == nil && received >= Double(count) { allReceived = .now }
                stored = sum(response.bodyText, "dtp_ingestor_messages_stored_total")
                if stored >= Double(count) { return (firstReceipt ?? .now, allReceived ?? .now) }
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw BenchmarkFailure(message: "the ingestor stored only \(Int(stored)) of \(count) messages")
    }

    /// The ingestor's batch count and the seconds each store spent writing them (from `/metrics`).
    static func storeTimes(_ http: HTTPClient, port: Int) async throws -> (
        batches: Double, postgres: Double, influx: Double
    ) {
        let text = try await http.execute(HTTPRequest(url: "http://127.0.0.1:\(port)/metrics")).bodyText
        func value(_ prefix: String) -> Double {
            text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { $0.split(separator: " ").last }
                .flatMap { Double($0) } ?? 0
        }
        return (
            value("dtp_ingestor_batch_messages_count"),
            value("dtp_ingestor_store_write_latency_sum{store=\"postgres\"}"),
            value("dtp_ingestor_store_write_latency_sum{store=\"influxdb\"}")
        )
    }

    static func waitForSubscription(_ http: HTTPClient, port: Int) async throws {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let response = try? await http.execute(HTTPRequest(url: "http://127.0.0.1:\(port)/metrics")),
                response.bodyText.split(separator: "\n").contains(where: {
                    $0.hasPrefix("dtp_ingestor_subscriptions 1")
                })
            {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw BenchmarkFailure(message: "the ingestor on port \(port) did not subscribe")
    }

    /// The rate of `psql \copy` loading the rows the ingestor stored, into a table of the same layout.
    static func psqlCopyRate(pool: PostgresPool, environment: [String: String], database: String, rows: Int)
        async throws -> Double
    {
        let file = NSTemporaryDirectory() + "dtp-bench-ingest-\(UUID().uuidString).copy"
        defer { try? FileManager.default.removeItem(atPath: file) }
        try await pool.withConnection { connection in
            try await connection.executeScript(
                "CREATE TABLE public.copy_baseline (LIKE telemetry.observation INCLUDING ALL)")
        }
        var env = environment
        env["PGDATABASE"] = database
        _ = try BenchProcess.output(
            of: "/usr/bin/psql",
            [
                "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
                "\\copy (SELECT * FROM telemetry.observation LIMIT \(rows)) TO '\(file)'",
            ], environment: env)
        let start = ContinuousClock.now
        _ = try BenchProcess.output(
            of: "/usr/bin/psql",
            ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", "\\copy public.copy_baseline FROM '\(file)'"],
            environment: env)
        let seconds = (ContinuousClock.now - start).seconds
        return Double(rows) / seconds
    }

    /// Publishes `count` messages while `telemetry.observation` is locked, sampling the ingestor's RSS;
    /// returns the peak in MiB.
    static func overload(
        pool configuration: PostgresConfiguration, ingestor: ServiceRun, lift: String, environment: [String: String],
        topic: String, count: Int
    ) async throws -> Double {
        let locker = PostgresPool(configuration: configuration, size: 1)
        let peak = PeakSampler(ingestor)
        let sampler = Task { await peak.run() }
        let lock = Task {
            try await locker.transaction { connection in
                try await connection.executeScript("LOCK TABLE telemetry.observation IN ACCESS EXCLUSIVE MODE")
                try await Task.sleep(for: .seconds(Double(count) / 20_000 + 5))
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        try fleet(lift, environment: environment, topic: topic, count: count, rate: 20_000, qos: 1)
        try await lock.value
        try await Task.sleep(for: .seconds(1))
        sampler.cancel()
        await locker.close()
        return await peak.peak
    }

    actor PeakSampler {
        let process: ServiceRun
        var peak = 0.0
        init(_ process: ServiceRun) { self.process = process }
        func run() async {
            while !Task.isCancelled {
                if let rss = process.rssMiB() { peak = max(peak, rss) }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    // MARK: The C subscriber

    static func buildCSubscriber() throws -> String {
        let binary = ".build/mqtt_sub"
        if FileManager.default.isExecutableFile(atPath: binary) { return binary }
        _ = try BenchProcess.output(of: "/usr/bin/cc", ["-O2", "-o", binary, "Benchmarks/c/mqtt_sub.c", "-lmosquitto"])
        return binary
    }

    static func prepareSession(host: String, port: Int, clientID: String, topic: String) async throws {
        var configuration = MQTTConfiguration(host: host, port: port, clientID: clientID)
        configuration.session = .persistent(expiry: .seconds(300))
        let client = try MQTTClient(configuration: configuration)
        try await client.connect()
        try await client.subscribe(to: topic, qos: .atLeastOnce)
        await client.disconnect()
    }

    static func removeSession(host: String, port: Int, clientID: String) async throws {
        let client = try MQTTClient(configuration: MQTTConfiguration(host: host, port: port, clientID: clientID))
        try await client.connect()
        await client.disconnect()
    }

    static func runCSubscriber(_ path: String, host: String, port: Int, topic: String, count: Int, clientID: String)
        throws -> Double
    {
        let output = try BenchProcess.output(of: path, [host, String(port), topic, String(count), clientID])
        for field in output.split(whereSeparator: \.isWhitespace) where field.hasPrefix("rate=") {
            if let value = Double(field.dropFirst(5)) { return value }
        }
        throw BenchmarkFailure(message: "unexpected mqtt_sub output: \(output)")
    }

    /// The C subscriber live on a QoS 0 fleet stream: started first, stopped 3 s after the fleet ended.
    static func runCSubscriberLive(
        _ path: String, host: String, port: Int, count: Int, lift: String, environment: [String: String]
    ) throws -> (received: Int, rate: Double) {
        let topic = "dtp-bench/ingest0-c/" + UUID().uuidString.prefix(8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = [host, String(port), topic, String(count), "dtp-bench-c0-" + UUID().uuidString.prefix(8)]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        Thread.sleep(forTimeInterval: 0.5)
        let start = Date()
        try fleet(lift, environment: environment, topic: topic, count: count, rate: 20_000, qos: 0)
        let deadline = Date().addingTimeInterval(3)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            process.interrupt()
            process.waitUntilExit()
            return (-1, Double(count) / Date().timeIntervalSince(start))
        }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        for field in output.split(whereSeparator: \.isWhitespace) where field.hasPrefix("rate=") {
            if let value = Double(field.dropFirst(5)) { return (count, value) }
        }
        return (count, 0)
    }

    // MARK: Environment

    static func benchEnvironment() throws -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        for (key, value) in TestEnvironment.shared.values where environment[key] == nil { environment[key] = value }
        return environment
    }

    static func sibling(_ name: String) throws -> String {
        let folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent()
        let path = folder.appendingPathComponent(name).path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw BenchmarkFailure(message: "\(path) is missing: swift build -c release --product \(name)")
        }
        return path
    }

    static func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(
            separator: " ") ?? "?"
    }
}

/// A service process for the benchmark, its output discarded.
final class ServiceRun: Sendable {
    let pid: pid_t

    init(_ binary: String, environment: [String: String]) throws {
        let log = NSTemporaryDirectory() + "dtp-bench-ingestor.log"
        do {
            pid = try ChildProcess.spawn(binary, environment: environment, output: log, append: true)
        } catch {
            throw BenchmarkFailure(message: "cannot start \(binary): \(error)")
        }
    }

    func rssMiB() -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return nil }
        return kilobytes / 1024
    }

    /// Signals the process and reaps it (no-op once reaped).
    func stop(_ signal: Int32) {
        guard kill(pid, 0) == 0 else { return }
        kill(pid, signal)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
    }
}
