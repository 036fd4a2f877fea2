import DTPHTTP
import DTPModel
import DTPPostgres
import DTPTestSupport
import Foundation

/// Discovery end to end: a `dtp-registry` and a `dtp-discovery` process (the release binaries next to
/// `dtp-bench`) on a fresh database and a temporary twins root of `folders` twin folders.
///
/// Figures: the registry's bulk endpoint alone (10 × 1,000 twins into an empty database), discovery's
/// initial scan of the folders into an empty registry (process start to `/status` reporting the scan
/// done), a rescan with nothing changed, the watcher's RSS, and the latency from saving a twin file to
/// the registry's `twin.update` event arriving on an SSE client (debounce included).
enum DiscoveryBenchmark {
    static func run(folders: Int) async throws {
        let environment = TestEnvironment.shared
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let registryBinary = directory.appendingPathComponent("dtp-registry").path
        let discoveryBinary = directory.appendingPathComponent("dtp-discovery").path
        for binary in [registryBinary, discoveryBinary] where !FileManager.default.isExecutableFile(atPath: binary) {
            throw BenchmarkFailure(message: "\(binary) is missing: swift build -c release --product \((binary as NSString).lastPathComponent)")
        }
        let admin = PostgresPool(configuration: try PostgresConfiguration(url: try environment.require("DTP_PG_URL")), size: 1)
        let http = try HTTPClient(configuration: HTTPClient.Configuration(timeout: .seconds(120)))
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("dtp-bench-twins-\(UUID().uuidString)")
        var databases: [String] = []
        var processes: [RegistryProcess] = []
        defer { try? FileManager.default.removeItem(at: root) }
        do {
            print("Discovery (\(folders) twin folders; load average \(loadAverage())):")
            // The registry's bulk endpoint on its own, into an empty database.
            let (bulkRegistry, bulkBase, bulkToken, bulkDatabase) = try await startRegistry(registryBinary, admin)
            processes.append(bulkRegistry)
            databases.append(bulkDatabase)
            let bulkSeconds = try await bulkLoad(http, bulkBase, token: bulkToken, count: folders)
            print(String(format: "  registry bulk upsert alone: %d twins in %.2f s (%.0f twins/s)", folders, bulkSeconds,
                         Double(folders) / bulkSeconds))
            bulkRegistry.stop()
            processes.removeAll()

            try makeFolders(root, count: folders)
            let (registry, base, token, database) = try await startRegistry(registryBinary, admin)
            processes.append(registry)
            databases.append(database)
            let port = TestPorts.free()
            let scanToken = "bench-scan-" + UUID().uuidString
            var child = ProcessInfo.processInfo.environment
            child["DTP_TWINS_ROOT"] = root.path
            child["DTP_REGISTRY_URL"] = base
            child["DTP_SERVICE_TOKEN_DISCOVERY"] = token
            child["DTP_SERVICE_TOKENS"] = "bench:\(scanToken)"
            child["DTP_HTTP_PORT"] = String(port)
            child["LOG_LEVEL"] = "warning"
            let started = ContinuousClock.now
            let discovery = try RegistryProcess(binary: discoveryBinary, environment: child)
            processes.append(discovery)
            let discoveryBase = "http://127.0.0.1:\(port)"
            var status = JSONValue.null
            while ContinuousClock.now - started < .seconds(300) {
                if let response = try? await http.execute(HTTPRequest(url: discoveryBase + "/status")), response.isSuccess,
                    let value = try? JSONDecoder().decode(JSONValue.self, from: response.body), value["last_scan"] != .null
                {
                    status = value
                    break
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            let initial = ContinuousClock.now - started
            guard status["twins_registered"]?.intValue == folders else {
                throw BenchmarkFailure(message: "discovery registered \(status["twins_registered"] ?? .null) of \(folders)")
            }
            print(String(
                format: "  initial scan into an empty registry: %.2f s from process start (scan itself %d ms; goal <= 10 s)",
                initial.seconds, status["last_scan_duration_ms"]?.intValue ?? -1))
            let rescan: JSONValue = try await http.json(
                .post, url: discoveryBase + "/scan", body: JSONValue.object([:]), headers: ["Authorization": "Bearer \(scanToken)"])
            print("  rescan with nothing changed: \(rescan["duration_ms"] ?? .null) ms (\(rescan["unchanged"] ?? .null) unchanged)")
            print(String(format: "  dtp-discovery RSS with %d folders watched: %.1f MiB", folders, discovery.rssMiB() ?? .nan))
            let latency = try await saveToEvent(http, base, token: token, root: root, samples: 200)
            print("  save -> SSE twin.update: \(latency) (goal p99 <= 300 ms)")
            print(String(format: "  dtp-discovery RSS after the saves: %.1f MiB", discovery.rssMiB() ?? .nan))
        } catch {
            await cleanUp(processes, http, admin, databases)
            throw error
        }
        await cleanUp(processes, http, admin, databases)
    }

    static func cleanUp(_ processes: [RegistryProcess], _ http: HTTPClient, _ admin: PostgresPool, _ databases: [String]) async {
        for process in processes.reversed() { process.stop() }
        for database in databases { try? await admin.execute("DROP DATABASE IF EXISTS \(database) WITH (FORCE)") }
        await admin.close()
        await http.shutdown()
    }

    static func startRegistry(_ binary: String, _ admin: PostgresPool) async throws -> (RegistryProcess, String, String, String) {
        let environment = TestEnvironment.shared
        let database = "bench_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await admin.execute("CREATE DATABASE \(database)")
        let port = TestPorts.free()
        let token = "bench-" + UUID().uuidString
        var child = ProcessInfo.processInfo.environment
        child["DTP_PG_URL"] = nil
        for key in ["PGHOST", "PGPORT", "PGUSER", "PGPASSWORD"] { child[key] = try environment.require(key) }
        child["PGDATABASE"] = database
        child["DTP_HTTP_PORT"] = String(port)
        child["DTP_SERVICE_TOKENS"] = "discovery:\(token)"
        child["DTP_JWT_SECRET"] = UUID().uuidString + UUID().uuidString
        child["LOG_LEVEL"] = "warning"
        for key in ["MINIO_ENDPOINT", "NEO4J_URL"] { child[key] = nil }
        let registry = try RegistryProcess(binary: binary, environment: child)
        let http = try HTTPClient()
        try await RegistryBenchmark.waitUntilServing(http, "http://127.0.0.1:\(port)")
        await http.shutdown()
        return (registry, "http://127.0.0.1:\(port)", token, database)
    }

    static func twinYAML(_ index: Int, name: String) -> String {
        """
        @id: dt:Bench_\(index)
        name: \(name)
        metadata:
          domain: [Bench]
          floor: \(index % 40)
        interfaces:
          data_streams:
            - MQTT:dtp/bench/\(index)/telemetry
        """
    }

    static func makeFolders(_ root: URL, count: Int) throws {
        for index in 0..<count {
            let folder = root.appendingPathComponent(String(format: "site-%02d/twin-%05d", index % 100, index))
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data(twinYAML(index, name: "Bench \(index)").utf8).write(to: folder.appendingPathComponent("twin.yaml"))
        }
    }

    /// Seconds for `count` twins through `POST /twins/bulk`, 1,000 per call.
    static func bulkLoad(_ http: HTTPClient, _ base: String, token: String, count: Int) async throws -> Double {
        let headers: HTTPHeaders = ["Authorization": "Bearer \(token)", "Content-Type": "application/json"]
        let started = ContinuousClock.now
        var start = 0
        while start < count {
            let items = (start..<min(start + 1000, count)).map {
                #"{"@id":"dt:Bulk_\#($0)","tenant":"demo","metadata":{"name":"Bulk \#($0)","domain":["Bench"]},"#
                    + #""interfaces":{"data_streams":["MQTT:dtp/bench/\#($0)/telemetry"]}}"#
            }
            let response = try await http.execute(HTTPRequest(
                method: .post, url: base + "/api/registry/twins/bulk", headers: headers,
                body: Data(("[" + items.joined(separator: ",") + "]").utf8)))
            guard response.status == 200 else { throw BenchmarkFailure(message: "bulk answered \(response.status)") }
            start += 1000
        }
        return (ContinuousClock.now - started).seconds
    }

    /// Saves one twin file `samples` times, each after the previous save's event arrived, and measures the
    /// time from the write to the `twin.update` event that carries the new name.
    static func saveToEvent(_ http: HTTPClient, _ base: String, token: String, root: URL, samples: Int) async throws -> String {
        let file = root.appendingPathComponent("site-00/twin-00000/twin.yaml")
        let stream = SSEClient(
            client: http, request: HTTPRequest(
                url: base + "/api/registry/events?types=twin.update",
                headers: ["Authorization": "Bearer \(token)", "Accept": "text/event-stream"], timeout: .unlimited))
        let (names, continuation) = AsyncStream<(String, ContinuousClock.Instant)>.makeStream()
        let reader = Task {
            for try await event in stream {
                guard let data = try? JSONValue(jsonText: event.data),
                    let name = data["payload"]?["metadata"]?["name"]?.stringValue
                else { continue }
                continuation.yield((name, .now))
            }
        }
        defer { reader.cancel() }
        try await Task.sleep(for: .milliseconds(500))
        var latencies: [Double] = []
        var iterator = names.makeAsyncIterator()
        for sample in 0..<samples {
            let name = "latency \(sample) \(UUID().uuidString.prefix(8))"
            let written = ContinuousClock.now
            try Data(twinYAML(0, name: name).utf8).write(to: file)
            let deadline = written + .seconds(10)
            while ContinuousClock.now < deadline {
                guard let (seen, at) = await iterator.next() else { break }
                if seen == name {
                    latencies.append((at - written).milliseconds)
                    break
                }
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        let sorted = latencies.sorted()
        return String(
            format: "p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d of %d saves seen)",
            RegistryBenchmark.percentile(sorted, 0.5), RegistryBenchmark.percentile(sorted, 0.99), sorted.last ?? .nan,
            sorted.count, samples)
    }

    static func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3)
            .joined(separator: " ") ?? "?"
    }
}
