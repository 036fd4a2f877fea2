import DTPServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@Suite("The shared HTTP application")
struct ServiceApplicationTests {
    struct Failing: Error, CustomStringConvertible {
        var description: String { "database unreachable" }
    }

    func makeApp(ready: Bool) -> some ApplicationProtocol {
        let settings = ServiceSettings(name: "kit-test", port: 1)
        let router = ServiceApplication.router(
            settings: settings,
            readiness: [
                ReadinessCheck("always") {},
                ReadinessCheck("postgres") { if !ready { throw Failing() } },
            ])
        router.get("boom") { _, _ -> String in throw Failing() }
        router.get("teapot") { _, _ -> String in throw APIError(.conflict, "twin exists") }
        router.post("echo") { request, context -> [String: String] in
            try await request.decode(as: [String: String].self, context: context)
        }
        return ServiceApplication.application(
            settings: settings, router: router, logger: ServiceLogging.bootstrap(service: "kit-test", level: .error))
    }

    func json(_ buffer: ByteBuffer) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))
        return try #require(object as? [String: Any])
    }

    @Test("/healthz answers, /readyz reports each check")
    func health() async throws {
        try await makeApp(ready: true).test(.router) { client in
            do {
                let response = try await client.execute(uri: "/healthz", method: .get)
                #expect(response.status == .ok)
                #expect(try json(response.body)["status"] as? String == "ok")
            }
            do {
                let response = try await client.execute(uri: "/readyz", method: .get)
                #expect(response.status == .ok)
                let body = try json(response.body)
                #expect(body["ready"] as? Bool == true)
                #expect(body["checks"] as? [String: String] == ["always": "ok", "postgres": "ok"])
            }
        }
        try await makeApp(ready: false).test(.router) { client in
            do {
                let response = try await client.execute(uri: "/readyz", method: .get)
                #expect(response.status == .serviceUnavailable)
                let body = try json(response.body)
                #expect(body["ready"] as? Bool == false)
                #expect((body["checks"] as? [String: String])?["postgres"] == "database unreachable")
                #expect(body["detail"] as? String == "not ready: postgres")
            }
        }
    }

    @Test("errors are JSON {\"detail\"} with the right status, and a bug's text does not leak")
    func errors() async throws {
        try await makeApp(ready: true).test(.router) { client in
            do {
                let response = try await client.execute(uri: "/no/such/route", method: .get)
                #expect(response.status == .notFound)
                #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
                #expect(try json(response.body)["detail"] is String)
            }
            do {
                let response = try await client.execute(uri: "/teapot", method: .get)
                #expect(response.status == .conflict)
                #expect(try json(response.body)["detail"] as? String == "twin exists")
            }
            do {
                let response = try await client.execute(uri: "/boom", method: .get)
                #expect(response.status == .internalServerError)
                let detail = try #require(try json(response.body)["detail"] as? String)
                #expect(detail.hasPrefix("internal server error (request "))
                #expect(!detail.contains("database unreachable"))
            }
            do {
                let response = try await client.execute(
                    uri: "/echo", method: .post, headers: [.contentType: "application/json"],
                    body: ByteBuffer(string: "{not json"))
                #expect(response.status == .badRequest)
                #expect(try json(response.body)["detail"] is String)
            }
        }
    }

    @Test("a request ID is returned, and a caller's own is kept")
    func requestIDs() async throws {
        try await makeApp(ready: true).test(.router) { client in
            do {
                let response = try await client.execute(uri: "/healthz", method: .get)
                let id = try #require(response.headers[.requestID])
                #expect(!id.isEmpty)
            }
            do {
                let response = try await client.execute(
                    uri: "/healthz", method: .get, headers: [.requestID: "gw-123"])
                #expect(response.headers[.requestID] == "gw-123")
            }
        }
    }

    @Test("/metrics serves Prometheus text with the service's prefix")
    func metrics() async throws {
        try await makeApp(ready: true).test(.router) { client in
            _ = try await client.execute(uri: "/healthz", method: .get)
            do {
                let response = try await client.execute(uri: "/metrics", method: .get)
                #expect(response.status == .ok)
                let text = String(buffer: response.body)
                #expect(text.contains(#"dtp_kit_test_http_server_request_duration_count{http_route="/healthz""#))
                let types = text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }
                #expect(!types.isEmpty)
                #expect(types.allSatisfy { $0.hasPrefix("# TYPE dtp_kit_test_") })
            }
        }
    }
}
