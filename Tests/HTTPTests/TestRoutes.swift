import DTPTestSupport
import Foundation
import Synchronization

/// What `/echo` answers: the request as the server saw it.
struct Echo: Codable, Sendable {
    var method: String
    var target: String
    var headers: [[String]]
    var body: String

    func header(_ name: String) -> [String] {
        headers.filter { $0[0].lowercased() == name.lowercased() }.map { $0[1] }
    }
}

/// The routes every client test can use.
///
/// - `/echo`: 200 with ``Echo`` as JSON (`X-Echo: a` and `X-Echo: b` headers too).
/// - `/status/N`: status N with the body `status N body`.
/// - `/stall`: sends nothing until the client goes away (counted in `connectionsClosedByPeer`).
/// - `/bytes/N`: N bytes, `i % 251`, written 16 KiB at a time.
/// - `/json`: decodes `{"a": Int, "b": String}` and answers `{"sum": a + 1, "text": b uppercased}`.
enum TestRoutes {
    typealias Extra = @Sendable (TestHTTPServer.Request, TestHTTPServer.Connection) -> TestHTTPServer.Next?

    /// A server with these routes; `extra` answers first and returns nil to fall through.
    static func server(extra: Extra? = nil) throws -> TestHTTPServer {
        let box = ServerBox()
        let server = try TestHTTPServer { request, connection in
            if let extra, let next = extra(request, connection) { return next }
            return handle(request, connection, box)
        }
        box.server.withLock { $0 = server }
        return server
    }

    private final class ServerBox: Sendable {
        let server = Mutex<TestHTTPServer?>(nil)
    }

    private static func handle(
        _ request: TestHTTPServer.Request, _ connection: TestHTTPServer.Connection, _ box: ServerBox
    ) -> TestHTTPServer.Next {
        let parts = request.path.split(separator: "/").map(String.init)
        switch parts.first {
        case "echo":
            let echo = Echo(
                method: request.method, target: request.target, headers: request.headers.map { [$0.0, $0.1] },
                body: String(decoding: request.body, as: UTF8.self))
            let body = try! JSONEncoder().encode(echo)
            connection.respond(
                status: 200, headers: [("Content-Type", "application/json"), ("X-Echo", "a"), ("x-echo", "b")],
                body: body)
            return .keepAlive
        case "status":
            let status = Int(parts.last ?? "") ?? 500
            connection.respond(status: status, body: Data("status \(status) body".utf8))
            return .keepAlive
        case "stall":
            if connection.waitForPeerClose(seconds: 60) {
                box.server.withLock { $0?.notePeerClosed() }
            }
            return .close
        case "bytes":
            let count = Int(parts.last ?? "") ?? 0
            connection.write("HTTP/1.1 200 OK\r\nContent-Length: \(count)\r\n\r\n")
            var sent = 0
            while sent < count {
                let size = min(16 * 1024, count - sent)
                connection.write(Data((sent..<(sent + size)).map { UInt8($0 % 251) }))
                sent += size
            }
            return .keepAlive
        case "json":
            struct In: Decodable { var a: Int; var b: String }
            struct Out: Encodable { var sum: Int; var text: String }
            guard let input = try? JSONDecoder().decode(In.self, from: request.body) else {
                connection.respond(status: 400, body: Data("bad json".utf8))
                return .keepAlive
            }
            let body = try! JSONEncoder().encode(Out(sum: input.a + 1, text: input.b.uppercased()))
            connection.respond(status: 200, headers: [("Content-Type", "application/json")], body: body)
            return .keepAlive
        default:
            connection.respond(status: 404, body: Data("no route \(request.path)".utf8))
            return .keepAlive
        }
    }
}
