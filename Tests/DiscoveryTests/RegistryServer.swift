import DTPHTTP
import DTPModel
import DTPPostgres
import DTPTestSupport
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A `dtp-registry` process (the binary `swift build --product dtp-registry` put in the build folder) on a
/// free port against its own fresh database; it can be stopped and started again on the same port and data.
final class RegistryServer: Sendable {
    let port: Int
    let database: String
    let token: String
    let client: HTTPClient
    private let binary: String
    private let pid = Mutex<pid_t?>(nil)
    private let environment: [String: String]

    var baseURL: String { "http://127.0.0.1:\(port)" }
    var headers: HTTPHeaders { ["Authorization": "Bearer \(token)", "Accept": "application/json"] }

    /// The registry binary: next to this test bundle, or in the repository's `.build/debug`.
    static func binaryPath() throws -> String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [
            bundle.appendingPathComponent("dtp-registry").path,
            bundle.deletingLastPathComponent().appendingPathComponent("dtp-registry").path,
            TestEnvironment.repositoryRoot.appendingPathComponent(".build/debug/dtp-registry").path,
        ] + Bundle.allBundles.map { $0.bundleURL.deletingLastPathComponent().appendingPathComponent("dtp-registry").path }
        guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw Missing(description: "dtp-registry is not built: run `swift build --product dtp-registry` first")
        }
        return path
    }

    struct Missing: Error, CustomStringConvertible { let description: String }

    /// Creates the database and starts the registry; it is serving when this returns.
    static func start(serviceTokens: [String: String] = [:]) async throws -> RegistryServer {
        let environment = TestEnvironment.shared
        let admin = PostgresPool(configuration: try PostgresConfiguration(url: try environment.require("DTP_PG_URL")), size: 1)
        let database = "disc_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await admin.execute("CREATE DATABASE \(database)")
        await admin.close()
        let token = "disc-" + UUID().uuidString
        var child: [String: String] = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        for key in ["PGHOST", "PGPORT", "PGUSER", "PGPASSWORD"] { child[key] = try environment.require(key) }
        child["PGDATABASE"] = database
        let port = TestPorts.free()
        child["DTP_HTTP_PORT"] = String(port)
        child["DTP_SERVICE_TOKENS"] = (["discovery": token].merging(serviceTokens) { a, _ in a })
            .map { "\($0.key):\($0.value)" }.joined(separator: ",")
        child["DTP_JWT_SECRET"] = UUID().uuidString + UUID().uuidString
        child["LOG_LEVEL"] = "warning"
        let server = RegistryServer(
            port: port, database: database, token: token, binary: try binaryPath(), environment: child,
            client: try HTTPClient(configuration: HTTPClient.Configuration(timeout: .seconds(30))))
        try await server.start()
        return server
    }

    private init(port: Int, database: String, token: String, binary: String, environment: [String: String], client: HTTPClient) {
        self.port = port
        self.database = database
        self.token = token
        self.binary = binary
        self.environment = environment
        self.client = client
    }

    /// Starts the process and waits until it answers `/healthz`.
    func start() async throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("dtp-disc-registry-\(port).log").path
        let child: pid_t
        do {
            child = try ChildProcess.spawn(binary, environment: environment, output: log, append: true)
        } catch {
            throw Missing(description: "cannot start \(binary): \(error)")
        }
        pid.withLock { $0 = child }
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let response = try? await client.execute(HTTPRequest(url: baseURL + "/healthz")), response.isSuccess {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw Missing(description: "dtp-registry did not start; see \(log)")
    }

    /// Stops the process (SIGTERM) and reaps it on a thread of its own.
    func stop() async {
        guard let child = pid.withLock({ value -> pid_t? in defer { value = nil }; return value }) else { return }
        kill(child, SIGTERM)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread {
                var status: Int32 = 0
                while waitpid(child, &status, 0) < 0, errno == EINTR {}
                continuation.resume()
            }.start()
        }
    }

    /// Stops the process and drops its database.
    func destroy() async {
        await stop()
        await client.shutdown()
        guard let admin = try? PostgresPool(
            configuration: PostgresConfiguration(url: TestEnvironment.shared.require("DTP_PG_URL")), size: 1)
        else { return }
        for _ in 0..<50 {
            do {
                try await admin.execute("DROP DATABASE IF EXISTS \(database)")
                break
            } catch {
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        await admin.close()
    }

    // MARK: - Registry calls for assertions

    /// Twin `id` as the registry holds it, or nil.
    func twin(_ id: String) async throws -> Twin? {
        let response = try await client.execute(HTTPRequest(url: "\(baseURL)/api/registry/twins/\(id)", headers: headers))
        if response.status == 404 { return nil }
        return try JSONDecoder().decode(Twin.self, from: try response.requireSuccess().body)
    }

    /// Every twin.
    func twins() async throws -> [Twin] {
        try await client.json(.get, url: "\(baseURL)/api/registry/twins?limit=10000", headers: headers)
    }

    /// How many versions twin `id` has had.
    func versionCount(_ id: String) async throws -> Int {
        let history: [JSONValue] = try await client.json(.get, url: "\(baseURL)/api/registry/twins/\(id)/history", headers: headers)
        return history.count
    }

    /// Sends a JSON request with the token and returns the decoded answer.
    func send(_ method: HTTPMethod, _ path: String, body: JSONValue? = nil, contentType: String = "application/json") async throws -> JSONValue {
        var headers = headers
        if body != nil { headers.add(name: "Content-Type", value: contentType) }
        let response = try await client.execute(
            HTTPRequest(method: method, url: baseURL + path, headers: headers, body: try body.map { Data(try $0.jsonText().utf8) }))
        return try JSONDecoder().decode(JSONValue.self, from: try response.requireSuccess().body)
    }
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held. A condition that throws
/// (the registry restarting, say) counts as not holding yet.
func eventually(timeout: Duration = .seconds(15), _ condition: () async throws -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return (try? await condition()) == true
}
