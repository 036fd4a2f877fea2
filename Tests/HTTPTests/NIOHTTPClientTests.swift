import DTPHTTPCore
import DTPTestSupport
import Foundation
import Testing

@testable import DTPHTTPNIO

@Suite("NIOHTTPClient (the generators' transport) against a local server")
struct NIOHTTPClientTests {
    @Test func postWithBodyAndHeadersRoundTrips() async throws {
        let server = try TestRoutes.server()
        defer { server.stop() }
        let client = NIOHTTPClient()
        let payload = String(repeating: "payload-", count: 2000)
        var headers: HTTPHeaders = ["X-Trace": "one", "Content-Type": "text/plain"]
        headers.add(name: "x-trace", value: "two")
        let response = try await client.execute(
            HTTPRequest(method: .post, url: server.baseURL + "/echo?q=1#frag", headers: headers, body: Data(payload.utf8)))
        #expect(response.status == 200)
        #expect(response.headers["x-echo"] == ["a", "b"])
        let echo = try JSONDecoder().decode(Echo.self, from: response.body)
        #expect(echo.method == "POST")
        #expect(echo.target == "/echo?q=1")
        #expect(echo.body == payload)
        #expect(echo.header("X-Trace") == ["one", "two"])
        #expect(echo.header("Content-Length") == ["\(payload.utf8.count)"])
        #expect(echo.header("Host") == [String(server.baseURL.dropFirst("http://".count))])
        #expect(echo.header("User-Agent") == ["dtp-http"])
    }

    @Test(arguments: [HTTPMethod.get, .put, .patch, .delete, .post])
    func methodsAreSent(method: HTTPMethod) async throws {
        let server = try TestRoutes.server()
        defer { server.stop() }
        let client = NIOHTTPClient()
        let body = method == .put || method == .patch ? Data("payload".utf8) : nil
        let response = try await client.execute(HTTPRequest(method: method, url: server.baseURL + "/echo", body: body))
        let echo = try JSONDecoder().decode(Echo.self, from: response.body)
        #expect(echo.method == method.rawValue)
        #expect(echo.body == (body.map { String(decoding: $0, as: UTF8.self) } ?? ""))
        let head = try await client.execute(HTTPRequest(method: .head, url: server.baseURL + "/status/204"))
        #expect(head.status == 204)
        #expect(head.body.isEmpty)
    }

    @Test func jsonHelperAndStatusErrorsWorkOverTheTransport() async throws {
        struct In: Encodable { var a: Int; var b: String }
        struct Out: Decodable, Equatable { var sum: Int; var text: String }
        let server = try TestRoutes.server()
        defer { server.stop() }
        let client: any HTTPTransport = NIOHTTPClient()
        let out = try await client.json(.post, url: server.baseURL + "/json", body: In(a: 41, b: "word"), as: Out.self)
        #expect(out == Out(sum: 42, text: "WORD"))
        let error = try await #require(throws: HTTPStatusError.self) {
            try await client.json(.get, url: server.baseURL + "/status/503", as: Out.self)
        }
        #expect(error.status == 503)
        #expect(error.bodyText == "status 503 body")
    }

    /// A server that hangs up right after answering (as InfluxDB does with `Connection: close`) gets every
    /// answer read, with several requests in flight.
    @Test func serversThatHangUpRightAfterAnsweringAreFine() async throws {
        let server = try TestRoutes.server { request, connection in
            guard request.path == "/bye" else { return nil }
            connection.respond(status: 200, body: Data("bye".utf8))
            return .close
        }
        defer { server.stop() }
        let client = NIOHTTPClient()
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var answered = 0
                    for _ in 0..<50 {
                        let response = try await client.execute(HTTPRequest(url: server.baseURL + "/bye"))
                        if response.status == 200 && response.body == Data("bye".utf8) { answered += 1 }
                    }
                    return answered
                }
            }
            let answered = try await group.reduce(0, +)
            #expect(answered == 400)
        }
    }

    @Test func largeBodiesArriveWholeAndTheLimitHolds() async throws {
        let server = try TestRoutes.server()
        defer { server.stop() }
        let response = try await NIOHTTPClient().execute(HTTPRequest(url: server.baseURL + "/bytes/1000000"))
        #expect(response.body.count == 1_000_000)
        #expect(response.body.enumerated().allSatisfy { $0.element == UInt8($0.offset % 251) })
        let error = try await #require(throws: HTTPClientError.self) {
            try await NIOHTTPClient(maxResponseBytes: 100_000).execute(HTTPRequest(url: server.baseURL + "/bytes/200000"))
        }
        #expect(error == .transport)
        #expect(error.message.contains("larger than 100000"))
    }

    @Test func userInfoBecomesBasicAuthAndStaysOutOfErrors() async throws {
        let server = try TestRoutes.server()
        defer { server.stop() }
        let url = server.baseURL.replacingOccurrences(of: "http://", with: "http://user:p%40ss@") + "/echo"
        let echo = try JSONDecoder().decode(
            Echo.self, from: try await NIOHTTPClient().execute(HTTPRequest(url: url)).body)
        #expect(echo.header("Authorization") == ["Basic " + Data("user:p@ss".utf8).base64EncodedString()])
        let port = TestPorts.free()
        let error = try await #require(throws: HTTPClientError.self) {
            try await NIOHTTPClient().execute(HTTPRequest(url: "http://user:hunter2@127.0.0.1:\(port)/x?sig=abc"))
        }
        #expect(error == .connectionRefused)
        #expect(!error.description.contains("hunter2"))
        #expect(!error.description.contains("abc"))
        #expect(error.description.contains("127.0.0.1:\(port)"))
    }

    @Test func connectTimeoutIsReportedAsSuch() async throws {
        let listener = try FullBacklogListener()
        defer { listener.close() }
        let request = HTTPRequest(url: "http://127.0.0.1:\(listener.port)/", connectTimeout: .milliseconds(300))
        let error = try await #require(throws: HTTPClientError.self) { try await NIOHTTPClient().execute(request) }
        #expect(error == .connectTimeout)
    }

    @Test func totalTimeoutOnStalledServerIsReportedAsSuch() async throws {
        let server = try TestRoutes.server()
        defer { server.stop() }
        let request = HTTPRequest(url: server.baseURL + "/stall", timeout: .after(.milliseconds(400)))
        let error = try await #require(throws: HTTPClientError.self) { try await NIOHTTPClient().execute(request) }
        #expect(error == .timeout)
        try await waitUntil { server.connectionsClosedByPeer == 1 }
    }

    @Test func cancellingTheTaskClosesTheConnection() async throws {
        let server = try TestRoutes.server()
        defer { server.stop() }
        let task = Task { try await NIOHTTPClient().execute(HTTPRequest(url: server.baseURL + "/stall")) }
        try await waitUntil { server.acceptedConnections == 1 }
        try await Task.sleep(for: .milliseconds(100))
        task.cancel()
        let error = try await #require(throws: HTTPClientError.self) { try await task.value }
        #expect(error == .cancelled)
        try await waitUntil { server.connectionsClosedByPeer == 1 }
    }

    @Test(arguments: ["https://127.0.0.1/x", "ftp://127.0.0.1/file", "http://", "http://host:99999/", "http://[::1/"])
    func unusableURLsAreRefusedBeforeConnecting(url: String) async throws {
        let error = try await #require(throws: HTTPClientError.self) {
            try await NIOHTTPClient().execute(HTTPRequest(url: url))
        }
        #expect(error == .invalidURL)
    }

    @Test func requestTargetsAreParsedWithoutFoundation() throws {
        let plain = try RequestTarget(url: "http://influx:8086/write?db=a&precision=u")
        #expect(plain.host == "influx")
        #expect(plain.port == 8086)
        #expect(plain.hostHeader == "influx:8086")
        #expect(plain.pathAndQuery == "/write?db=a&precision=u")
        #expect(plain.basicAuthorization == nil)
        let bare = try RequestTarget(url: "HTTP://Registry?x=1")
        #expect(bare.host == "Registry")
        #expect(bare.port == 80)
        #expect(bare.pathAndQuery == "/?x=1")
        let ipv6 = try RequestTarget(url: "http://[::1]:8081/api")
        #expect(ipv6.host == "::1")
        #expect(ipv6.port == 8081)
        #expect(ipv6.hostHeader == "[::1]:8081")
    }
}
