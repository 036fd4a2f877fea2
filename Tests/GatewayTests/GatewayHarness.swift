import DTPAuth
import DTPHTTP
import DTPModel
import DTPPostgres
import DTPServiceKit
import DTPTestSupport
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

@testable import PortalGateway

/// A gateway and a registry running live on free ports against one fresh database of their own.
struct GatewayHarness: Sendable {
    let baseURL: String
    let registryURL: String
    let serviceToken: String
    let client: HTTPClient
    let config: GatewayConfig

    static let jwtSecret = "gateway-test-jwt-secret-" + String(repeating: "y", count: 32)
    static let admin = ("admin@example.com", "admin12345")
    static let demo = ("demo@example.com", "demo12345")

    /// The gateway's test configuration: short heartbeats and health rounds, unreachable discovery and
    /// ingestor (nothing listens on their ports).
    static func config(database: PostgresConfiguration, registryURL: String, token: String) -> GatewayConfig {
        var config = GatewayConfig(
            settings: ServiceSettings(name: "gateway", port: TestPorts.free(), logLevel: .warning),
            postgres: database, jwtSecret: Secret(jwtSecret), serviceToken: Secret(token))
        config.poolSize = 4
        config.registryURL = registryURL
        config.discoveryURL = "http://127.0.0.1:\(TestPorts.free())"
        config.ingestorURL = "http://127.0.0.1:\(TestPorts.free())"
        config.heartbeat = .seconds(1)
        config.healthInterval = .seconds(1)
        config.bootstrapUsers = [
            .init(username: admin.0, password: Secret(admin.1), isStaff: true),
            .init(username: demo.0, password: Secret(demo.1), isStaff: false),
        ]
        config.portalDirectory = nil
        return config
    }

    /// Runs `body` against a live gateway and registry; the database is dropped afterwards.
    static func with(
        configure: (inout GatewayConfig) -> Void = { _ in }, _ body: (GatewayHarness) async throws -> Void
    ) async throws {
        let database = try await TestDatabase.create(prefix: "gw_")
        let token = "svc-gw-" + UUID().uuidString
        let client = try HTTPClient()
        do {
            try await RegistryProcess.with(database: database, serviceToken: token, jwtSecret: jwtSecret) { registry in
                var config = Self.config(database: database, registryURL: registry, token: token)
                configure(&config)
                let app = try await buildApplication(config)
                let group = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "test.gateway")))
                let harness = GatewayHarness(
                    baseURL: "http://127.0.0.1:\(config.settings.port)", registryURL: registry, serviceToken: token,
                    client: client, config: config)
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    tasks.addTask { try await group.run() }
                    do {
                        try await harness.waitUntilServing()
                        try await body(harness)
                    } catch {
                        await group.triggerGracefulShutdown()
                        try? await tasks.waitForAll()
                        throw error
                    }
                    await group.triggerGracefulShutdown()
                    try await tasks.waitForAll()
                }
            }
        } catch {
            await client.shutdown()
            try? await TestDatabase.drop(database)
            throw error
        }
        await client.shutdown()
        try await TestDatabase.drop(database)
    }

    /// Waits up to 30 s: a full parallel test run on 2 cores can keep a fresh server's first answer waiting.
    func waitUntilServing() async throws {
        for _ in 0..<600 {
            if let response = try? await client.execute(DTPHTTP.HTTPRequest(url: baseURL + "/healthz")),
                response.status == 200
            {
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HarnessError(message: "the gateway did not start serving")
    }

    /// Sends a request to the gateway with `token` as bearer (if any).
    func send(
        _ method: HTTPMethod, _ path: String, token: String? = nil, json: JSONValue? = nil, body: String? = nil,
        headers: [String: String] = [:]
    ) async throws -> DTPHTTP.HTTPResponse {
        var fields = HTTPHeaders()
        if let token { fields.add(name: "Authorization", value: "Bearer \(token)") }
        let text = try json.map { try $0.jsonText() } ?? body
        if text != nil { fields.add(name: "Content-Type", value: "application/json") }
        for (name, value) in headers { fields.replaceOrAdd(name: name, value: value) }
        return try await client.execute(
            DTPHTTP.HTTPRequest(method: method, url: baseURL + path, headers: fields, body: text.map { Data($0.utf8) }))
    }

    /// Logs in; returns the access and refresh tokens.
    func login(_ user: (String, String)) async throws -> (access: String, refresh: String) {
        let response = try await send(.post, "/api/token/", json: ["username": .string(user.0), "password": .string(user.1)])
        guard response.status == 200, let body = try? JSONValue(jsonText: response.bodyText),
            let access = body["access"]?.stringValue, let refresh = body["refresh"]?.stringValue
        else { throw HarnessError(message: "login of \(user.0) failed: \(response.status) \(response.bodyText)") }
        return (access, refresh)
    }

    /// Creates a (non-staff) user through the admin API and logs them in.
    func createUser(_ name: String, adminToken: String) async throws -> (String, String) {
        let user = (name, "password-\(name)")
        let response = try await send(
            .post, "/api/admin/users", token: adminToken,
            json: ["username": .string(name), "email": .string(name), "password": .string(user.1)])
        guard response.status == 201 else { throw HarnessError(message: "create user: \(response.status)") }
        return user
    }

    /// Creates a twin through the gateway as staff.
    @discardableResult
    func createTwin(_ id: String, name: String, tenant: String = "demo", adminToken: String) async throws
        -> DTPHTTP.HTTPResponse
    {
        try await send(
            .post, "/api/registry/twins", token: adminToken,
            json: [
                "@id": .string(id), "tenant": .string(tenant),
                "metadata": ["name": .string(name), "status": "instantiated", "domain": ["Lift"]],
                "interfaces": ["api": .string("http://localhost:3001/\(id)")],
                "dependencies": ["static": [], "dynamic": []],
            ])
    }

    /// Waits until `condition` holds, checking every 50 ms for at most `limit`.
    func waitFor(_ limit: Duration = .seconds(5), _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HarnessError(message: "condition not met within \(limit)")
    }

    /// The JSON of a response.
    static func json(_ response: DTPHTTP.HTTPResponse) throws -> JSONValue {
        try JSONValue(jsonText: response.bodyText)
    }

    struct HarnessError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}

/// Collects the events of one portal stream in the background.
final class StreamRecorder: Sendable {
    /// What the background task writes and the test reads.
    final class Log: Sendable {
        let events = Mutex<[SSEEvent]>([])
        let failure = Mutex<String?>(nil)
    }

    private let log = Log()
    private let task: Task<Void, Never>

    /// Opens `url` with `headers` and records every event until ``stop()``.
    init(client: HTTPClient, url: String, headers: HTTPHeaders, lastEventID: String = "") {
        let log = self.log
        let stream = SSEClient(
            client: client, request: DTPHTTP.HTTPRequest(url: url, headers: headers), retry: .milliseconds(200),
            maxConsecutiveFailures: 0, lastEventID: lastEventID)
        task = Task {
            do {
                for try await event in stream { log.events.withLock { $0.append(event) } }
            } catch {
                log.failure.withLock { $0 = "\(error)" }
            }
        }
    }

    /// What was received so far.
    var received: [SSEEvent] { log.events.withLock { $0 } }

    /// The error that ended the stream, if any.
    var error: String? { log.failure.withLock { $0 } }

    /// Events whose data mentions `text`.
    func matching(_ text: String) -> [SSEEvent] { received.filter { $0.data.contains(text) } }

    func stop() { task.cancel() }
}
