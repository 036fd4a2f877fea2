import DTPHTTP
import DTPPostgres
import DTPTestSupport
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The registry under load: a `dtp-registry` process (the release binary next to `dtp-bench`) against a
/// fresh database on the local PostgreSQL, 1,000 twins, then 32 concurrent connections through DTPHTTP
/// (libcurl) for each request kind, the latency from a write to its event on an SSE client, and the
/// registry's RSS. When `wrk` is installed, GET one, the list and the upsert are also measured with it
/// (see ``RegistryWrk``), next to `/healthz` as the same run's ceiling.
///
/// The registry runs as a separate process, so its RSS is its own and not the load generator's. The load
/// generator shares the 2 cores with the registry and PostgreSQL, so the rates are a lower bound of what
/// the registry serves.
enum RegistryBenchmark {
    static let connections = 32

    static func run(seconds: Int) async throws {
        let environment = TestEnvironment.shared
        // DTP_BENCH_REGISTRY_BIN runs another build (an earlier commit's, say) under the same load.
        let binary =
            ProcessInfo.processInfo.environment["DTP_BENCH_REGISTRY_BIN"]
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("dtp-registry").path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw BenchmarkFailure(message: "\(binary) is missing: swift build -c release --product dtp-registry")
        }
        let admin = PostgresPool(configuration: try PostgresConfiguration(url: try environment.require("DTP_PG_URL")), size: 1)
        let database = "bench_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await admin.execute("CREATE DATABASE \(database)")
        let port = TestPorts.free()
        let token = "bench-" + UUID().uuidString
        var child = ProcessInfo.processInfo.environment
        child["DTP_PG_URL"] = nil
        for key in ["PGHOST", "PGPORT", "PGUSER", "PGPASSWORD"] { child[key] = try environment.require(key) }
        child["PGDATABASE"] = database
        child["DTP_HTTP_PORT"] = String(port)
        child["DTP_SERVICE_TOKENS"] = "bench:\(token)"
        child["DTP_JWT_SECRET"] = UUID().uuidString + UUID().uuidString
        child["DTP_LOG_LEVEL"] = "warning"
        for key in ["MINIO_ENDPOINT", "NEO4J_URL"] { child[key] = nil }
        let registry = try RegistryProcess(binary: binary, environment: child)
        let http = try HTTPClient(configuration: HTTPClient.Configuration(timeout: .seconds(30)))
        let base = "http://127.0.0.1:\(port)"
        let headers: HTTPHeaders = ["Authorization": "Bearer \(token)", "Content-Type": "application/json"]
        do {
            try await waitUntilServing(http, base)
            let etags = try await seed(http, base, headers)
            print("Registry (dtp-registry pid \(registry.pid), 1,000 twins, \(connections) connections, \(seconds) s each):")
            print("  RSS after seeding: \(registry.rssMiB().map { String(format: "%.1f MiB", $0) } ?? "?")")
            let peak = Mutex(0.0)
            let sampler = Task {
                while !Task.isCancelled {
                    if let rss = registry.rssMiB() { peak.withLock { $0 = max($0, rss) } }
                    try? await Task.sleep(for: .milliseconds(100))
                }
            }
            defer { sampler.cancel() }
            if let wrk = RegistryWrk.path {
                print("  with wrk (2 threads, \(connections) connections; load average \(loadAverage())):")
                // The server processes of the bench database (the registry's pool and listener).
                func backends() async throws -> [Int32] {
                    try await admin.query("SELECT pid FROM pg_stat_activity WHERE datname = $1", [database])
                        .map { try $0.decode(Int32.self, at: 0) }
                }
                func run(_ label: String, _ script: String) async throws {
                    let before = RegistryWrk.CPU.sample(registry: registry.pid, backends: try await backends())
                    let figures = try await RegistryWrk.run(
                        wrk, url: base, script: script, connections: connections, seconds: seconds)
                    let after = RegistryWrk.CPU.sample(registry: registry.pid, backends: try await backends())
                    print("    \(label.padding(toLength: 28, withPad: " ", startingAt: 0)) \(figures)")
                    print("      " + RegistryWrk.CPU.perRequest(from: before, to: after, requests: figures.requests))
                }
                try await run("GET /healthz (baseline)", RegistryWrk.healthz)
                try await run("GET one twin", RegistryWrk.getOne(token: token))
                try await run("GET list of 1,000", RegistryWrk.list(token: token))
                let probe = Task { try await eventLatency(http, base, headers, token: token, seconds: seconds) }
                try await run("POST upsert (changed twin)", RegistryWrk.upsert(token: token))
                print("    write -> SSE event, under the wrk upsert load: \(try await probe.value)")
                print("  with the Swift client (DTPHTTP; load average \(loadAverage())):")
            } else {
                print("  (wrk is not installed: the Swift client only)")
            }
            let counter = Atomic<Int>(0)
            try await measure("GET one twin", http, seconds: seconds) { _, _ in
                HTTPRequest(url: "\(base)/api/registry/twins/dt:bench-\(Int.random(in: 0..<1000))", headers: headers)
            }
            try await measure("GET list of 1,000", http, seconds: seconds) { _, _ in
                HTTPRequest(url: "\(base)/api/registry/twins", headers: headers)
            } check: { response in
                response.body.count > 100_000
            }
            // The probe runs alongside the upserts, so the event latency is measured under write load.
            let probe = Task { try await eventLatency(http, base, headers, token: token, seconds: seconds) }
            try await measure("POST upsert (changed twin)", http, seconds: seconds) { _, _ in
                let id = Int.random(in: 0..<1000)
                let n = counter.wrappingAdd(1, ordering: .relaxed).newValue
                return HTTPRequest(
                    method: .post, url: "\(base)/api/registry/twins", headers: headers,
                    body: Data(twin(id, name: "upsert \(n)").utf8))
            }
            let underLoad = try await probe.value
            // PATCH with If-Match: each worker owns every 32nd twin and keeps its current entity tags, read
            // afresh because the upserts changed them.
            _ = etags
            let tags = Mutex(try await currentTags(http, base, headers))
            try await measure("PATCH with If-Match", http, seconds: seconds) { worker, round in
                let id = worker + connections * (round % (1000 / connections))
                var request = HTTPRequest(
                    method: .patch, url: "\(base)/api/registry/twins/dt:bench-\(id)", headers: headers,
                    body: Data(#"{"metadata": {"name": "patch \#(round)", "status": "active", "domain": ["Lift"]}}"#.utf8))
                request.headers.add(name: "If-Match", value: tags.withLock { $0[id] } ?? "*")
                return request
            } check: { response in
                guard response.status == 200, let tag = response.headers.first(name: "ETag"),
                    let id = (try? JSONSerialization.jsonObject(with: response.body) as? [String: Any])?["twin_id"]
                        as? String, let index = Int(id.dropFirst("dt:bench-".count))
                else { return false }
                tags.withLock { $0[index] = tag }
                return true
            }
            sampler.cancel()
            let idle = try await eventLatency(http, base, headers, token: token, seconds: 2)
            print("  write -> SSE event, under the upsert load: \(underLoad)")
            print("  write -> SSE event, one writer alone:      \(idle)")
            print("  RSS peak under load: \(String(format: "%.1f MiB", peak.withLock { $0 }))")
        } catch {
            await finish(registry, http, admin, database)
            throw error
        }
        await finish(registry, http, admin, database)
    }

    static func finish(_ registry: RegistryProcess, _ http: HTTPClient, _ admin: PostgresPool, _ database: String) async {
        registry.stop()
        await http.shutdown()
        for _ in 0..<50 {
            if (try? await admin.execute("DROP DATABASE IF EXISTS \(database)")) != nil { break }
            try? await Task.sleep(for: .milliseconds(100))
        }
        await admin.close()
    }

    static func twin(_ index: Int, name: String) -> String {
        #"{"@id": "dt:bench-\#(index)", "tenant": "bench", "metadata": {"name": "\#(name)", "status": "active", "#
            + #""domain": ["Lift"]}, "interfaces": {"api": "http://lift-\#(index).local:3001", "#
            + #""data_streams": ["MQTT:dtp/bench/\#(index)/state"]}, "dependencies": {"static": ["dt:bench-\#((index + 1) % 1000)"], "dynamic": []}}"#
    }

    /// The entity tag of every twin, from the list.
    static func currentTags(_ http: HTTPClient, _ base: String, _ headers: HTTPHeaders) async throws -> [Int: String] {
        let response = try await http.execute(HTTPRequest(url: base + "/api/registry/twins?tenant=bench", headers: headers))
        guard let twins = try JSONSerialization.jsonObject(with: response.body) as? [[String: Any]] else {
            throw BenchmarkFailure(message: "cannot read the list")
        }
        var tags: [Int: String] = [:]
        for twin in twins {
            if let id = twin["twin_id"] as? String, let tag = twin["etag"] as? String,
                let index = Int(id.dropFirst("dt:bench-".count))
            {
                tags[index] = tag
            }
        }
        guard tags.count == 1000 else { throw BenchmarkFailure(message: "the list has \(tags.count) bench twins") }
        return tags
    }

    static func waitUntilServing(_ http: HTTPClient, _ base: String) async throws {
        for _ in 0..<200 {
            if let response = try? await http.execute(HTTPRequest(url: base + "/healthz")), response.status == 200 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw BenchmarkFailure(message: "the registry did not start serving")
    }

    /// 1,000 twins in one bulk request; returns their entity tags by index.
    static func seed(_ http: HTTPClient, _ base: String, _ headers: HTTPHeaders) async throws -> [Int: String] {
        let body = "[" + (0..<1000).map { twin($0, name: "seed") }.joined(separator: ",") + "]"
        let response = try await http.execute(
            HTTPRequest(method: .post, url: base + "/api/registry/twins/bulk", headers: headers, body: Data(body.utf8)))
        guard response.status == 200,
            let results = (try JSONSerialization.jsonObject(with: response.body) as? [String: Any])?["results"]
                as? [[String: Any]]
        else { throw BenchmarkFailure(message: "seeding failed: \(response.status) \(response.bodyText.prefix(300))") }
        var etags: [Int: String] = [:]
        for result in results {
            guard let id = result["@id"] as? String, let tag = result["etag"] as? String,
                let index = Int(id.dropFirst("dt:bench-".count))
            else { throw BenchmarkFailure(message: "seeding answered \(result)") }
            etags[index] = tag
        }
        return etags
    }

    /// Runs `connections` workers for `seconds`, each sending the requests `make(worker, round)` builds one
    /// after another; prints requests/s and latency percentiles. A response is good when 2xx and `check`.
    static func measure(
        _ label: String, _ http: HTTPClient, seconds: Int,
        make: @escaping @Sendable (Int, Int) -> HTTPRequest,
        check: @escaping @Sendable (HTTPResponse) -> Bool = { _ in true }
    ) async throws {
        let start = ContinuousClock.now
        let deadline = start + .seconds(seconds)
        let results = try await withThrowingTaskGroup(of: ([Double], Int).self) { group in
            for worker in 0..<connections {
                group.addTask {
                    var latencies: [Double] = []
                    var failures = 0
                    var round = 0
                    while ContinuousClock.now < deadline {
                        let request = make(worker, round)
                        round += 1
                        let sent = ContinuousClock.now
                        let response = try await http.execute(request)
                        latencies.append((ContinuousClock.now - sent).milliseconds)
                        if !(200..<300).contains(response.status) || !check(response) { failures += 1 }
                    }
                    return (latencies, failures)
                }
            }
            var all: [Double] = []
            var failures = 0
            for try await (latencies, failed) in group {
                all += latencies
                failures += failed
            }
            return (all, failures)
        }
        let elapsed = (ContinuousClock.now - start).seconds
        let sorted = results.0.sorted()
        print(
            "  \(label.padding(toLength: 28, withPad: " ", startingAt: 0)) "
                + String(
                    format: "%8.0f req/s   p50 %6.2f ms   p99 %6.2f ms   (%d requests, %d failed)",
                    Double(sorted.count) / elapsed, percentile(sorted, 0.50), percentile(sorted, 0.99), sorted.count,
                    results.1))
    }

    /// One writer upserting a new twin at a time; the time from sending the request to its event arriving
    /// on an SSE client.
    static func eventLatency(
        _ http: HTTPClient, _ base: String, _ headers: HTTPHeaders, token: String, seconds: Int
    ) async throws -> String {
        let sent = Mutex<[String: ContinuousClock.Instant]>([:])
        let latencies = Mutex<[Double]>([])
        let probe = UUID().uuidString.prefix(8)
        let stream = SSEClient(
            client: http, url: base + "/api/registry/events?types=twin.update&tenant=probe",
            headers: ["Authorization": "Bearer \(token)"])
        let listener = Task {
            for try await event in stream {
                let now = ContinuousClock.now
                guard let range = event.data.range(of: "dt:probe-\(probe)-") else { continue }
                let id = String(event.data[range.lowerBound...].prefix { $0 != "\"" })
                if let start = sent.withLock({ $0.removeValue(forKey: id) }) {
                    latencies.withLock { $0.append((now - start).milliseconds) }
                }
            }
        }
        defer { listener.cancel() }
        try await Task.sleep(for: .milliseconds(300))
        let deadline = ContinuousClock.now + .seconds(seconds)
        var index = 0
        while ContinuousClock.now < deadline {
            let id = "dt:probe-\(probe)-\(index)"
            index += 1
            sent.withLock { $0[id] = ContinuousClock.now }
            let body = #"{"@id": "\#(id)", "tenant": "probe"}"#
            _ = try await http.execute(
                HTTPRequest(method: .post, url: base + "/api/registry/twins", headers: headers, body: Data(body.utf8)))
            try await Task.sleep(for: .milliseconds(10))
        }
        try await Task.sleep(for: .milliseconds(500))
        let sorted = latencies.withLock { $0 }.sorted()
        let missing = sent.withLock { $0.count }
        return String(
            format: "p50 %.2f ms, p99 %.2f ms (%d writes, %d events missing)", percentile(sorted, 0.5),
            percentile(sorted, 0.99), sorted.count + missing, missing)
    }

    /// The 1-minute load average, for reading the figures against the machine's other work.
    static func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").first.map(String.init) ?? "?"
    }

    static func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
    }
}

/// A `dtp-registry` child process, stopped with SIGTERM.
final class RegistryProcess: Sendable {
    let pid: pid_t

    init(binary: String, environment: [String: String], logName: String = "dtp-bench-registry.log") throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent(logName).path
        do {
            pid = try ChildProcess.spawn(binary, environment: environment, output: log)
        } catch {
            throw BenchmarkFailure(message: "cannot start \(binary): \(error)")
        }
    }

    /// VmRSS from /proc/<pid>/status.
    func rssMiB() -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return nil }
        return kilobytes / 1024
    }

    func stop() {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
    }
}

extension Duration {
    var milliseconds: Double { Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15 }
}
