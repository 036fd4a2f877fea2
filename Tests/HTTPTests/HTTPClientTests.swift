import DTPHTTP
import DTPTestSupport
import Foundation
import Testing

@Suite("HTTPClient against a local server")
struct HTTPClientTests {
    @Test func postWithBodyAndHeadersRoundTrips() async throws {
        let server = try TestRoutes.server()
        defer { server.stop() }
        let client = try HTTPClient()
        let payload = Data((0..<5000).map { UInt8($0 % 256) }).base64EncodedString()  // > 1 KiB: no Expect
        var headers: HTTPHeaders = ["X-Trace": "one", "Content-Type": "text/plain"]
        headers.add(name: "x-trace", value: "two")
        let response = try await client.execute(
            HTTPRequest(method: .post, url: server.baseURL + "/echo?q=1", headers: headers, body: Data(payload.utf8)))
        #expect(response.status == 200)
        #expect(response.headers["x-echo"] == ["a", "b"])
        #expect(response.headers.first(name: "CONTENT-TYPE") == "application/json")
        let echo = try JSONDecoder().decode(Echo.self, from: response.body)
        #expect(echo.method == "POST")
        #expect(echo.target == "/echo?q=1")
        #expect(echo.body == payload)
        #expect(echo.header("X-Trace") == ["one", "two"])
        #expect(echo.header("Content-Type") == ["text/plain"])
        #expect(echo.header("Content-Length") == ["\(payload.utf8.count)"])
        #expect(echo.header("Expect").isEmpty)
        await client.shutdown()
    }

    @Test(arguments: [HTTPMethod.get, .put, .patch, .delete, .options, .post])
    func methodsAreSent(method: HTTPMethod) async throws {
        let server = try TestRoutes.server()
        defer { server.stop() }
        let client = try HTTPClient()
        let body = method == .put || method == .patch ? Data("payload".utf8) : nil
        let response = try await client.execute(HTTPRequest(method: method, url: server.baseURL + "/echo", body: body))
        let echo = try JSONDecoder().decode(Echo.self, from: response.body)
        #expect(echo.method == method.rawValue)
        #expect(echo.body == (body.map { String(decoding: $0, as: UTF8.self) } ?? ""))
        let head = try await client.execute(HTTPRequest(method: .head, url: server.baseURL + "/status/204"))
        #expect(head.status == 204)
        #expect(head.body.isEmpty)
        await client.shutdown()
    }

    @Test func jsonHelperEncodesAndDecodes() async throws {
        struct In: Encodable { var a: Int; var b: String }
        struct Out: Decodable, Equatable { var sum: Int; var text: String }
        let server = try TestRoutes.server()
        defer { server.stop() }
        let client = try HTTPClient()
        let word = UUID().uuidString.lowercased()
        let out = try await client.json(.post, url: server.baseURL + "/json", body: In(a: 41, b: word), as: Out.self)
        #expect(out == Out(sum: 42, text: word.uppercased()))
        let echo = try await client.json(.get, url: server.baseURL + "/echo", as: Echo.self)
        #expect(echo.header("Accept") == ["application/json"])
        await client.shutdown()
    }

    @Test func nonSuccessStatusBecomesTypedError() async throws {
        let server = try TestRoutes.server()
        defer { server.stop() }
        let client = try HTTPClient()
        struct Anything: Decodable {}
        do {
            _ = try await client.json(.get, url: server.baseURL + "/status/503", as: Anything.self)
            Issue.record("expected an HTTPStatusError")
        } catch let error as HTTPStatusError {
            #expect(error.status == 503)
            #expect(error.bodyText == "status 503 body")
        }
        // Without the helper a non-2xx is an ordinary response.
        let response = try await client.execute(HTTPRequest(url: server.baseURL + "/status/404"))
        #expect(response.status == 404)
        #expect(throws: HTTPStatusError.self) { try response.requireSuccess() }
        await client.shutdown()
    }

    @Test func sequentialRequestsReuseOneConnection() async throws {
        let server = try TestRoutes.server()
        defer { server.stop() }
        let client = try HTTPClient()
        for index in 0..<20 {
            let response = try await client.execute(
                HTTPRequest(method: .post, url: server.baseURL + "/echo", body: Data("\(index)".utf8)))
            #expect(try JSONDecoder().decode(Echo.self, from: response.body).body == "\(index)")
        }
        #expect(server.acceptedConnections == 1)
        await client.shutdown()
    }

    @Test func manyConcurrentRequestsComplete() async throws {
        let server = try TestRoutes.server()
        defer { server.stop() }
        let client = try HTTPClient()
        let bodies = try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<200 {
                group.addTask {
                    let response = try await client.execute(
                        HTTPRequest(method: .post, url: server.baseURL + "/echo", body: Data("r\(index)".utf8)))
                    return try JSONDecoder().decode(Echo.self, from: response.body).body
                }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(bodies == Set((0..<200).map { "r\($0)" }))
        await client.shutdown()
    }

    @Test func connectTimeoutIsReportedAsSuch() async throws {
        let listener = try FullBacklogListener()
        defer { listener.close() }
        let client = try HTTPClient()
        let request = HTTPRequest(url: "http://127.0.0.1:\(listener.port)/", connectTimeout: .milliseconds(300))
        let error = try await #require(throws: HTTPClientError.self) { try await client.execute(request) }
        #expect(error == .connectTimeout)
        #expect(error.curlCode == 28)
        #expect(!error.message.isEmpty)
        await client.shutdown()
    }

    @Test func totalTimeoutOnStalledServerIsReportedAsSuch() async throws {
        let server = try TestRoutes.server()
        defer { server.stop() }
        let client = try HTTPClient()
        let request = HTTPRequest(url: server.baseURL + "/stall", timeout: .after(.milliseconds(400)))
        let error = try await #require(throws: HTTPClientError.self) { try await client.execute(request) }
        #expect(error == .timeout)
        #expect(error.curlCode == 28)
        #expect(error.message.contains("timed out"))
        await client.shutdown()
    }

    @Test func refusedConnectionIsReportedAsSuch() async throws {
        let client = try HTTPClient()
        let port = TestPorts.free()  // nothing listens there
        let error = try await #require(throws: HTTPClientError.self) {
            try await client.execute(HTTPRequest(url: "http://127.0.0.1:\(port)/"))
        }
        #expect(error == .connectionRefused)
        #expect(error.curlCode == 7)
        #expect(error.description.contains("127.0.0.1:\(port)"))
        await client.shutdown()
    }

    @Test func malformedURLIsReportedAsSuch() async throws {
        let client = try HTTPClient()
        let error = try await #require(throws: HTTPClientError.self) {
            try await client.execute(HTTPRequest(url: "ftp://127.0.0.1/file"))
        }
        #expect(error == .invalidURL)
        await client.shutdown()
    }

    @Test func errorDescriptionsHideCredentialsAndQuery() async throws {
        let client = try HTTPClient()
        let port = TestPorts.free()
        let error = try await #require(throws: HTTPClientError.self) {
            try await client.execute(HTTPRequest(url: "http://user:hunter2@127.0.0.1:\(port)/x?X-Amz-Signature=abc"))
        }
        #expect(!error.description.contains("hunter2"))
        #expect(!error.description.contains("abc"))
        await client.shutdown()
    }

    @Test func cancellingTheTaskCancelsTheTransfer() async throws {
        let server = try TestRoutes.server()
        defer { server.stop() }
        let client = try HTTPClient()
        let task = Task { try await client.execute(HTTPRequest(url: server.baseURL + "/stall")) }
        try await waitUntil { server.acceptedConnections == 1 }
        try await Task.sleep(for: .milliseconds(100))  // let the request reach the handler
        task.cancel()
        let error = try await #require(throws: HTTPClientError.self) { try await task.value }
        #expect(error == .cancelled)
        // The server sees the client hang up: curl really dropped the connection.
        try await waitUntil { server.connectionsClosedByPeer == 1 }
        await client.shutdown()
    }

    @Test func shutdownFailsPendingAndLaterRequests() async throws {
        let server = try TestRoutes.server()
        defer { server.stop() }
        let client = try HTTPClient()
        let task = Task { try await client.execute(HTTPRequest(url: server.baseURL + "/stall")) }
        try await waitUntil { server.acceptedConnections == 1 }
        await client.shutdown()
        let error = try await #require(throws: HTTPClientError.self) { try await task.value }
        #expect(error == .shutdown)
        let later = try await #require(throws: HTTPClientError.self) {
            try await client.execute(HTTPRequest(url: server.baseURL + "/echo"))
        }
        #expect(later == .shutdown)
        await client.shutdown()  // a second shutdown is harmless
    }
}

/// Polls `condition` every 20 ms for up to 30 s (a full parallel run on 2 cores can hold a server thread
/// back that long); fails the test if it never holds.
func waitUntil(_ condition: @Sendable () -> Bool, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    for _ in 0..<1500 {
        if condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("condition never held", sourceLocation: sourceLocation)
}
