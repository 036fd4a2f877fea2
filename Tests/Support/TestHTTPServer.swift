import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A small HTTP/1.1 server on loopback for tests: POSIX sockets, a thread per connection, keep-alive,
/// and a handler that writes raw bytes, so tests can stall, stream or cut responses short, or stand in
/// for a store (Neo4j, InfluxDB 2) that cannot run on the test machine.
public final class TestHTTPServer: Sendable {
    /// One parsed request.
    public struct Request: Sendable {
        /// `GET`, `POST`…
        public var method: String
        /// The request target: path and query.
        public var target: String
        /// The header fields, in order.
        public var headers: [(String, String)]
        /// The body (by Content-Length).
        public var body: Data

        /// The target without its query.
        public var path: String { String(target.split(separator: "?", maxSplits: 1).first ?? "") }

        /// The first value of header `name`, in any case.
        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    /// The accepted socket a handler answers on.
    public struct Connection: Sendable {
        /// The socket.
        public let fd: Int32

        /// Writes all of `data`, or stops when the peer is gone.
        public func write(_ data: Data) {
            data.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let sent = send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                    if sent <= 0 { return }
                    offset += sent
                }
            }
        }

        /// Writes `text` as UTF-8.
        public func write(_ text: String) { write(Data(text.utf8)) }

        /// Sends a complete response with a Content-Length; keeps the connection open.
        public func respond(status: Int, headers: [(String, String)] = [], body: Data = Data()) {
            var head = "HTTP/1.1 \(status) Status\r\nContent-Length: \(body.count)\r\n"
            for (name, value) in headers { head += "\(name): \(value)\r\n" }
            write(Data((head + "\r\n").utf8) + body)
        }

        /// Waits until the peer closes the connection or `seconds` pass; true if it closed.
        public func waitForPeerClose(seconds: Double) -> Bool {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if poll(&pfd, 1, 50) > 0 {
                    var byte: UInt8 = 0
                    if recv(fd, &byte, 1, Int32(MSG_PEEK)) <= 0 { return true }
                    return false
                }
            }
            return false
        }
    }

    /// What the handler wants done with the connection afterwards.
    public enum Next: Sendable { case keepAlive, close }

    /// Answers one request on its connection.
    public typealias Handler = @Sendable (Request, Connection) -> Next

    /// The port the server listens on, on 127.0.0.1.
    public let port: Int
    private let listener: Int32
    private let handler: Handler
    private let state = Mutex(State())

    private struct State {
        var connections = 0
        var open: Set<Int32> = []
        var stopped = false
        var closedByPeer = 0
    }

    /// How many TCP connections the server accepted.
    public var acceptedConnections: Int { state.withLock { $0.connections } }

    /// How many connections the client closed while the handler was still waiting on it.
    public var connectionsClosedByPeer: Int { state.withLock { $0.closedByPeer } }

    /// Counts a connection the client closed while a handler waited on it.
    public func notePeerClosed() { state.withLock { $0.closedByPeer += 1 } }

    /// `http://127.0.0.1:<port>`.
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Starts listening on a free port from ``TestPorts`` and serving with `handler`.
    public init(handler: @escaping Handler) throws {
        self.handler = handler
        var lastError: Int32 = 0
        for _ in 0..<20 {
            let port = TestPorts.free()
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            if TestPorts.bindLoopback(fd, port: port) && listen(fd, 512) == 0 {
                self.port = port
                listener = fd
                let thread = Thread { [self] in acceptLoop() }
                thread.start()
                return
            }
            lastError = errno
            close(fd)
        }
        throw POSIXError(POSIXErrorCode(rawValue: lastError) ?? .EADDRINUSE)
    }

    /// Stops accepting and closes every open connection.
    public func stop() {
        let open = state.withLock { state -> Set<Int32> in
            state.stopped = true
            return state.open
        }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        for fd in open { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    private func acceptLoop() {
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EINTR { continue }
                return
            }
            let accepted = state.withLock { state -> Bool in
                guard !state.stopped else { return false }
                state.connections += 1
                state.open.insert(fd)
                return true
            }
            guard accepted else {
                close(fd)
                return
            }
            let thread = Thread { [self] in serve(fd) }
            thread.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer {
            state.withLock { _ = $0.open.remove(fd) }
            close(fd)
        }
        var buffer = Data()
        let connection = Connection(fd: fd)
        while let request = readRequest(fd, &buffer) {
            if handler(request, connection) == .close { return }
        }
    }

    private func readRequest(_ fd: Int32, _ buffer: inout Data) -> Request? {
        let separator = Data("\r\n\r\n".utf8)
        while buffer.range(of: separator) == nil {
            guard receive(fd, into: &buffer) else { return nil }
        }
        let headEnd = buffer.range(of: separator)!
        let head = String(decoding: buffer[buffer.startIndex..<headEnd.lowerBound], as: UTF8.self)
        buffer = Data(buffer[headEnd.upperBound...])
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count >= 2 else { return nil }
        var headers: [(String, String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append(
                (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        let length = headers.first { $0.0.lowercased() == "content-length" }.flatMap { Int($0.1) } ?? 0
        while buffer.count < length {
            guard receive(fd, into: &buffer) else { return nil }
        }
        let body = Data(buffer.prefix(length))
        buffer = Data(buffer.dropFirst(length))
        return Request(method: String(requestLine[0]), target: String(requestLine[1]), headers: headers, body: body)
    }

    private func receive(_ fd: Int32, into buffer: inout Data) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        let count = recv(fd, &chunk, chunk.count, 0)
        guard count > 0 else { return false }
        buffer.append(contentsOf: chunk[0..<count])
        return true
    }
}
