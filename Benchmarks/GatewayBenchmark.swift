import DTPHTTP
import DTPPostgres
import DTPTestSupport
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The gateway under load: `dtp-registry` and `dtp-gateway` processes (release binaries next to
/// `dtp-bench`) on a fresh database; 10,000 authenticated portal streams held by a small epoll C client
/// (`Benchmarks/c/sse_load.c`, so that the load generator's own cost stays small); the time from one
/// registry write to its event on every stream; API latency while the streams are open; the gateway's RSS;
/// logins per second at bcrypt cost 10; `/api/healthz` requests per second with `wrk`.
enum GatewayBenchmark {
    static func run(streams: Int) async throws {
        let environment = TestEnvironment.shared
        let folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let registryBinary = folder.appendingPathComponent("dtp-registry").path
        let gatewayBinary = folder.appendingPathComponent("dtp-gateway").path
        for binary in [registryBinary, gatewayBinary] where !FileManager.default.isExecutableFile(atPath: binary) {
            throw BenchmarkFailure(message: "\(binary) is missing: swift build -c release --product \(URL(fileURLWithPath: binary).lastPathComponent)")
        }
        raiseOpenFileLimit()
        let client = FileManager.default.temporaryDirectory.appendingPathComponent("dtp-bench-sse-load").path
        _ = try BenchProcess.output(of: "/usr/bin/cc", ["-O2", "-o", client, "Benchmarks/c/sse_load.c"])

        let admin = PostgresPool(configuration: try PostgresConfiguration(url: try environment.require("DTP_PG_URL")), size: 1)
        let database = "bench_gw_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await admin.execute("CREATE DATABASE \(database)")
        let token = "bench-" + UUID().uuidString
        var child = ProcessInfo.processInfo.environment
        child["DTP_PG_URL"] = nil
        for key in ["PGHOST", "PGPORT", "PGUSER", "PGPASSWORD"] { child[key] = try environment.require(key) }
        child["PGDATABASE"] = database
        child["DTP_SERVICE_TOKENS"] = nil
        child["DTP_SERVICE_TOKEN_GATEWAY"] = token
        child["DTP_JWT_SECRET"] = UUID().uuidString + UUID().uuidString
        child["LOG_LEVEL"] = "warning"
        for key in ["MINIO_ENDPOINT", "NEO4J_URL"] { child[key] = nil }
        let registryPort = TestPorts.free()
        let gatewayPort = TestPorts.free()
        var registryEnvironment = child
        registryEnvironment["DTP_HTTP_PORT"] = String(registryPort)
        var gatewayEnvironment = child
        gatewayEnvironment["DTP_HTTP_PORT"] = String(gatewayPort)
        gatewayEnvironment["DTP_REGISTRY_URL"] = "http://127.0.0.1:\(registryPort)"
        gatewayEnvironment["DTP_ACCESS_TOKEN_SECONDS"] = "3600"
        gatewayEnvironment["DTP_BCRYPT_COST"] = "10"
        gatewayEnvironment["DTP_LOGIN_MAX_FAILURES_ADDRESS"] = "100000"
        gatewayEnvironment["DTP_PORTAL_DIR"] = "/nonexistent"
        let registry = try RegistryProcess(binary: registryBinary, environment: registryEnvironment)
        let gateway = try RegistryProcess(
            binary: gatewayBinary, environment: gatewayEnvironment, logName: "dtp-bench-gateway.log")
        let http = try HTTPClient(configuration: HTTPClient.Configuration(timeout: .seconds(60)))
        let base = "http://127.0.0.1:\(gatewayPort)"
        do {
            try await RegistryBenchmark.waitUntilServing(http, "http://127.0.0.1:\(registryPort)")
            try await RegistryBenchmark.waitUntilServing(http, base)
            try await measureAll(http: http, base: base, gateway: gateway, client: client, port: gatewayPort, streams: streams)
        } catch {
            gateway.stop()
            await RegistryBenchmark.finish(registry, http, admin, database)
            throw error
        }
        gateway.stop()
        await RegistryBenchmark.finish(registry, http, admin, database)
    }

    static func measureAll(
        http: HTTPClient, base: String, gateway: RegistryProcess, client: String, port: Int, streams: Int
    ) async throws {
        let adminToken = try await login(http, base, "admin@example.com", "admin12345")
        let demoToken = try await login(http, base, "demo@example.com", "demo12345")
        let adminHeaders: HTTPHeaders = ["Authorization": "Bearer \(adminToken)", "Content-Type": "application/json"]
        let demoHeaders: HTTPHeaders = ["Authorization": "Bearer \(demoToken)"]
        // Twins the demo user is granted (default grant: all).
        for index in 0..<20 {
            _ = try await http.execute(
                HTTPRequest(method: .post, url: base + "/api/registry/twins", headers: adminHeaders,
                    body: Data(#"{"@id": "dt:gw-\#(index)", "tenant": "demo", "metadata": {"name": "seed"}}"#.utf8)))
        }
        try await Task.sleep(for: .seconds(1))
        print("Gateway (dtp-gateway pid \(gateway.pid), \(streams) portal streams, bcrypt cost 10):")
        print("  RSS before streams: \(format(gateway.rssMiB()))")

        // The streams, held by the C client.
        let marks = 5
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("dtp-bench-sse-load.out")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        let loader = Process()
        loader.executableURL = URL(fileURLWithPath: client)
        loader.arguments = ["127.0.0.1", String(port), "/api/portal/stream?tenant=demo", demoToken, String(streams), String(marks), "60"]
        loader.standardOutput = try FileHandle(forWritingTo: output)
        let opened = ContinuousClock.now
        try loader.run()
        var ready = -1
        while ready < 0 {
            try await Task.sleep(for: .milliseconds(200))
            let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("ready ") }) {
                ready = Int(line.dropFirst(6)) ?? 0
            }
            if !loader.isRunning && ready < 0 { throw BenchmarkFailure(message: "sse_load exited early") }
        }
        print(String(format: "  streams open: %d of %d in %.1f s", ready, streams, (ContinuousClock.now - opened).seconds))
        try await Task.sleep(for: .seconds(2))
        print("  RSS with \(ready) streams open: \(format(gateway.rssMiB()))")

        // API latency while the streams are open.
        try await RegistryBenchmark.measure("GET /api/me/twins/", http, seconds: 5) { _, _ in
            HTTPRequest(url: base + "/api/me/twins/", headers: demoHeaders)
        }
        try await RegistryBenchmark.measure("GET /api/registry/twins/{id}", http, seconds: 5) { _, _ in
            HTTPRequest(url: base + "/api/registry/twins/dt:gw-\(Int.random(in: 0..<20))", headers: demoHeaders)
        }

        // One registry write at a time (through the gateway), then its event on every stream.
        var sent: [Int64] = []
        for mark in 0..<marks {
            let body = #"{"@id": "dt:gw-0", "tenant": "demo", "metadata": {"name": "fanout-\#(mark)-end"}}"#
            sent.append(realtimeNanoseconds())
            let response = try await http.execute(
                HTTPRequest(method: .post, url: base + "/api/registry/twins", headers: adminHeaders, body: Data(body.utf8)))
            guard response.isSuccess else { throw BenchmarkFailure(message: "write failed: \(response.status)") }
            try await Task.sleep(for: .seconds(2))
        }
        loader.waitUntilExit()
        let lines = ((try? String(contentsOf: output, encoding: .utf8)) ?? "").split(separator: "\n")
        var latencies: [Double] = []
        var missing = 0
        for line in lines {
            let parts = line.split(separator: " ")
            if parts.first == "missing" { missing = Int(parts[1]) ?? 0; continue }
            guard parts.count == 2, let mark = Int(parts[0]), let at = Int64(parts[1]), mark < sent.count else { continue }
            latencies.append(Double(at - sent[mark]) / 1e6)
        }
        latencies.sort()
        print(
            String(
                format: "  write -> event on every stream: p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d writes x %d streams, %d missing)",
                RegistryBenchmark.percentile(latencies, 0.5), RegistryBenchmark.percentile(latencies, 0.99),
                latencies.last ?? .nan, marks, ready, missing))
        print("  RSS after the fan-out: \(format(gateway.rssMiB()))")

        // Logins at bcrypt cost 10, and health, with the streams closed.
        try await RegistryBenchmark.measure("POST /api/token/ (cost 10)", http, seconds: 5) { _, _ in
            HTTPRequest(method: .post, url: base + "/api/token/", headers: ["Content-Type": "application/json"],
                body: Data(#"{"username": "demo@example.com", "password": "demo12345"}"#.utf8))
        }
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/wrk") {
            let text = try BenchProcess.output(of: "/usr/bin/wrk", ["-t2", "-c64", "-d5s", "--latency", base + "/api/healthz"])
            let rate = text.split(separator: "\n").first { $0.hasPrefix("Requests/sec:") } ?? "?"
            let p99 = text.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("99%") } ?? "?"
            print("  GET /api/healthz with wrk -t2 -c64: \(rate.dropFirst(13).trimmingCharacters(in: .whitespaces)) req/s, p99 \(p99.trimmingCharacters(in: .whitespaces).dropFirst(3).trimmingCharacters(in: .whitespaces))")
        } else {
            try await RegistryBenchmark.measure("GET /api/healthz", http, seconds: 5) { _, _ in
                HTTPRequest(url: base + "/api/healthz")
            }
        }
        var load = [0.0, 0.0, 0.0]
        getloadavg(&load, 3)
        print(String(format: "  load average at the end: %.2f %.2f %.2f", load[0], load[1], load[2]))
    }

    static func login(_ http: HTTPClient, _ base: String, _ user: String, _ password: String) async throws -> String {
        let response = try await http.execute(
            HTTPRequest(method: .post, url: base + "/api/token/", headers: ["Content-Type": "application/json"],
                body: Data(#"{"username": "\#(user)", "password": "\#(password)"}"#.utf8)))
        guard let object = try JSONSerialization.jsonObject(with: response.body) as? [String: Any],
            let access = object["access"] as? String
        else { throw BenchmarkFailure(message: "login failed: \(response.status)") }
        return access
    }

    /// Raises this process's open-file limit to its hard limit; the children inherit it.
    static func raiseOpenFileLimit() {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    static func realtimeNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    static func format(_ mib: Double?) -> String { mib.map { String(format: "%.1f MiB", $0) } ?? "?" }
}
