import DTPAuth
import DTPHTTP
import DTPModel
import DTPPostgres
import DTPServiceKit
import DTPTestSupport
import Foundation
import Logging
import ServiceLifecycle

@testable import Registry

/// A registry running live on a free port against its own fresh database, with an HTTP client.
struct RegistryHarness: Sendable {
    let baseURL: String
    let token: String
    let client: HTTPClient
    let pool: PostgresPool
    let config: RegistryConfig

    static let jwtSecret = "test-jwt-secret-" + String(repeating: "x", count: 32)

    /// Runs `body` against a live registry; the database is dropped afterwards.
    static func with(
        heartbeat: Duration = .seconds(15), configure: (inout RegistryConfig) -> Void = { _ in },
        _ body: (RegistryHarness) async throws -> Void
    ) async throws {
        let database = try await TestDatabase.create(prefix: "reg_")
        let token = "svc-" + UUID().uuidString
        var config = RegistryConfig(
            settings: ServiceSettings(name: "registry", port: TestPorts.free(), logLevel: .warning),
            postgres: database, poolSize: 8, serviceTokens: ["discovery": token],
            jwtSecret: Secret(jwtSecret), heartbeat: heartbeat)
        configure(&config)
        let app = try await buildApplication(config)
        let group = ServiceGroup(
            configuration: .init(services: [app], logger: Logger(label: "test.registry")))
        let client = try HTTPClient()
        let pool = PostgresPool(configuration: database, size: 4)
        let harness = RegistryHarness(
            baseURL: "http://127.0.0.1:\(config.settings.port)", token: token, client: client, pool: pool,
            config: config)
        do {
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
        } catch {
            await client.shutdown()
            await pool.close()
            try? await TestDatabase.drop(database)
            throw error
        }
        await client.shutdown()
        await pool.close()
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
        throw HarnessError(message: "the registry did not start serving")
    }

    /// Sends a request with the service token (unless `authorized` is false).
    func send(
        _ method: HTTPMethod, _ path: String, body: String? = nil, headers: [String: String] = [:],
        authorized: Bool = true
    ) async throws -> DTPHTTP.HTTPResponse {
        var fields = HTTPHeaders()
        if authorized { fields.add(name: "Authorization", value: "Bearer \(token)") }
        if body != nil { fields.add(name: "Content-Type", value: "application/json") }
        for (name, value) in headers { fields.replaceOrAdd(name: name, value: value) }
        return try await client.execute(
            DTPHTTP.HTTPRequest(method: method, url: baseURL + path, headers: fields, body: body.map { Data($0.utf8) }))
    }

    /// The response body as JSON.
    static func json(_ response: DTPHTTP.HTTPResponse) throws -> JSONValue {
        try JSONValue(jsonText: response.bodyText)
    }

    struct HarnessError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}

/// A twin body for tests.
func twinBody(
    _ id: String, tenant: String = "demo", status: String = "instantiated", name: String? = nil,
    domain: [String] = ["Lift"], api: String = "http://localhost:3001", dependencies: [String] = []
) -> String {
    var metadata: [String: JSONValue] = ["status": .string(status), "domain": .array(domain.map(JSONValue.string))]
    if let name { metadata["name"] = .string(name) }
    let body: JSONValue = [
        "@id": .string(id), "tenant": .string(tenant), "metadata": .object(metadata),
        "interfaces": ["api": .string(api), "data_streams": [.string("MQTT:dtp/test/\(id)")]],
        "dependencies": ["static": .array(dependencies.map(JSONValue.string)), "dynamic": []],
    ]
    return try! body.jsonText()
}
