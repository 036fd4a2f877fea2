import DTPHTTP
import DTPHTTPNIO
import DTPRegistryClient
import DTPServiceKit
import DTPTestSupport
import DTPTwinStack
import Foundation
import Logging
import Synchronization
import Testing

/// Registration against a local stand-in for the registry, which refuses the first attempts.
@Suite struct RegistryRegistrationTests {
    /// Over both transports: the services' libcurl client and the generators' NIO client.
    @Test(arguments: ["curl", "nio"])
    func retriesWithBackoffUntilTheRegistryAcceptsAndSendsTheDocumentedBody(transport: String) async throws {
        let seen = Mutex<[TestHTTPServer.Request]>([])
        let server = try TestHTTPServer { request, connection in
            let count = seen.withLock { requests -> Int in
                requests.append(request)
                return requests.count
            }
            if count < 3 {
                connection.respond(status: 503, body: Data(#"{"detail":"starting"}"#.utf8))
            } else {
                connection.respond(
                    status: 201, headers: [("Content-Type", "application/json")], body: Data(#"{"ok":true}"#.utf8))
            }
            return .keepAlive
        }
        let curl = transport == "curl" ? try HTTPClient() : nil
        let http: any HTTPTransport = curl ?? NIOHTTPClient()
        let token = "tok-\(UUID().uuidString)"
        let registration = RegistryRegistration(
            registryURL: server.baseURL + "/", token: Secret(token),
            body: .init(name: "dtp-lift", tenant: "demo", publicURL: "http://localhost:3001", twinRef: "dt:Lift_001"),
            http: http, logger: Logger(label: "test"), initialDelay: .milliseconds(20), maxDelay: .milliseconds(100))
        let attempts = try await registration.registerUntilAccepted()
        await curl?.shutdown()

        #expect(attempts == 3)
        let requests = seen.withLock { $0 }
        #expect(requests.count == 3)
        for request in requests {
            #expect(request.method == "POST")
            #expect(request.path == "/api/registry/services")
            #expect(request.header("Authorization") == "Bearer \(token)")
            #expect(request.header("Content-Type")?.hasPrefix("application/json") == true)
        }
        let body = try #require(try JSONSerialization.jsonObject(with: requests[2].body) as? [String: Any])
        #expect(body["name"] as? String == "dtp-lift")
        #expect(body["tenant"] as? String == "demo")
        #expect(body["category"] as? String == "UI")
        #expect(body["twin_ref"] as? String == "dt:Lift_001")
        let interfaces = try #require(body["interfaces"] as? [String: Any])
        #expect(interfaces["api"] as? String == "http://localhost:3001")
        #expect(interfaces["health"] as? String == "http://localhost:3001/healthz")
        #expect(interfaces["public"] as? Bool == true)
        let health = try #require(body["health"] as? [String: Any])
        #expect(health["url"] as? String == "http://localhost:3001/healthz")
    }

    @Test func anUnreachableRegistryIsRetriedUntilCancelledWithoutThrowingAnythingElse() async throws {
        let http = try HTTPClient()
        let registration = RegistryRegistration(
            registryURL: "http://127.0.0.1:\(TestPorts.free())", token: nil,
            body: .init(name: "dtp-hvac", tenant: "demo", publicURL: "http://localhost:3002", twinRef: "dt:EnergyHVAC_001"),
            http: http, logger: Logger(label: "test"), initialDelay: .milliseconds(10), maxDelay: .milliseconds(20))
        let task = Task { try await registration.registerUntilAccepted() }
        try await Task.sleep(for: .milliseconds(300))
        task.cancel()
        let result = await task.result
        #expect(throws: CancellationError.self) { try result.get() }
        await http.shutdown()
    }
}
