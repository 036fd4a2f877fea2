import DTPHTTP
import DTPTestSupport
import Foundation
import Synchronization
import Testing

/// A server-side event stream of `total` events that drops the connection after every `perConnection`
/// events (in the middle of the next event), resumes after the `Last-Event-ID` the client sends, and
/// answers 204 once every event was delivered.
final class SSEScenario: Sendable {
    let total: Int
    let perConnection: Int
    private let seen = Mutex<[String?]>([])

    init(total: Int, perConnection: Int) {
        self.total = total
        self.perConnection = perConnection
    }

    /// The `Last-Event-ID` of each connection, in order (nil when absent).
    var lastEventIDs: [String?] { seen.withLock { $0 } }

    static func data(_ index: Int) -> String { "line one of \(index)\nline two: \(index)" }
    static func name(_ index: Int) -> String { index % 2 == 0 ? "tick" : "message" }

    func handle(_ request: TestHTTPServer.Request, _ connection: TestHTTPServer.Connection) -> TestHTTPServer.Next {
        let lastID = request.header("Last-Event-ID")
        seen.withLock { $0.append(lastID) }
        let start = (lastID.flatMap(Int.init) ?? 0) + 1
        guard start <= total else {
            connection.respond(status: 204)
            return .keepAlive
        }
        var text = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nConnection: close\r\n\r\n"
        if start == 1 { text += ": welcome\nretry: 50\n\n" }
        let end = min(total, start + perConnection - 1)
        for index in start...end {
            text += ": event \(index) follows\r\n"
            if index % 2 == 0 { text += "event: tick\n" }
            text += "id: \(index)\r"
            text += "data: line one of \(index)\n"
            text += "data:line two: \(index)\r\n"
            text += "\n"
        }
        if end < total {
            text += "id: \(end + 1)\ndata: cut off before the blank line"  // must not be dispatched
        }
        // Several writes, so the client sees events split across reads.
        let bytes = Data(text.utf8)
        for offset in stride(from: 0, to: bytes.count, by: 37) {
            connection.write(bytes[offset..<min(bytes.count, offset + 37)])
        }
        return .close
    }
}

@Suite("SSEClient against a local server")
struct SSEClientTests {
    @Test func streamIsParsedAndResumedWithoutLossOrDuplicates() async throws {
        let scenario = SSEScenario(total: 10, perConnection: 4)
        let server = try TestRoutes.server { request, connection in
            request.path == "/sse" ? scenario.handle(request, connection) : nil
        }
        defer { server.stop() }
        let client = try HTTPClient()
        var events: [SSEEvent] = []
        for try await event in SSEClient(client: client, url: server.baseURL + "/sse", retry: .seconds(30)) {
            events.append(event)
        }
        // The server's `retry: 50` replaced the 30 s default, or this test would have taken minutes.
        #expect(events.map(\.id) == (1...10).map(String.init))
        #expect(events.map(\.data) == (1...10).map(SSEScenario.data))
        #expect(events.map(\.event) == (1...10).map(SSEScenario.name))
        #expect(scenario.lastEventIDs == [nil, "4", "8", "10"])
        await client.shutdown()
    }

    @Test func firstConnectionCanResumeFromAGivenID() async throws {
        let scenario = SSEScenario(total: 6, perConnection: 10)
        let server = try TestRoutes.server { request, connection in
            request.path == "/sse" ? scenario.handle(request, connection) : nil
        }
        defer { server.stop() }
        let client = try HTTPClient()
        var ids: [String] = []
        let stream = SSEClient(client: client, url: server.baseURL + "/sse", retry: .milliseconds(20), lastEventID: "3")
        for try await event in stream { ids.append(event.id) }
        #expect(ids == ["4", "5", "6"])
        #expect(scenario.lastEventIDs == ["3", "6"])
        await client.shutdown()
    }

    @Test func acceptHeaderIsSent() async throws {
        let accepts = Mutex<[String]>([])
        let server = try TestRoutes.server { request, connection in
            guard request.path == "/sse" else { return nil }
            accepts.withLock { $0.append(request.header("Accept") ?? "") }
            connection.respond(status: 204)
            return .keepAlive
        }
        defer { server.stop() }
        let client = try HTTPClient()
        var count = 0
        for try await _ in SSEClient(client: client, url: server.baseURL + "/sse") { count += 1 }
        #expect(count == 0)
        #expect(accepts.withLock { $0 } == ["text/event-stream"])
        await client.shutdown()
    }

    @Test func nonOKStatusIsAnError() async throws {
        let server = try TestRoutes.server()
        defer { server.stop() }
        let client = try HTTPClient()
        let error = try await #require(throws: SSEError.self) {
            for try await _ in SSEClient(client: client, url: server.baseURL + "/status/503") {}
        }
        #expect(error == .badStatus)
        #expect(error.status == 503)
        #expect(error.message == "status 503 body")
        await client.shutdown()
    }

    @Test func wrongContentTypeIsAnError() async throws {
        let server = try TestRoutes.server()
        defer { server.stop() }
        let client = try HTTPClient()
        let error = try await #require(throws: SSEError.self) {
            for try await _ in SSEClient(client: client, url: server.baseURL + "/echo") {}
        }
        #expect(error == .badContentType)
        await client.shutdown()
    }

    @Test func cancellationStopsAnIdleStream() async throws {
        let server = try TestRoutes.server { request, connection in
            guard request.path == "/sse" else { return nil }
            connection.write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: one\n\n")
            _ = connection.waitForPeerClose(seconds: 15)
            return .close
        }
        defer { server.stop() }
        let client = try HTTPClient()
        let received = Mutex(0)
        let task = Task {
            for try await _ in SSEClient(client: client, url: server.baseURL + "/sse") {
                received.withLock { $0 += 1 }
            }
        }
        try await waitUntil { received.withLock { $0 } == 1 }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        await client.shutdown()
    }

    @Test func unreachableServerExhaustsReconnects() async throws {
        let client = try HTTPClient()
        let port = TestPorts.free()
        let error = try await #require(throws: SSEError.self) {
            for try await _ in SSEClient(
                client: client, url: "http://127.0.0.1:\(port)/sse", retry: .milliseconds(10),
                maxConsecutiveFailures: 3)
            {}
        }
        #expect(error == .reconnectsExhausted)
        await client.shutdown()
    }
}
