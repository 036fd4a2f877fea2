import DTPMQTT
import Dispatch
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The ingestor's own MQTT 5 subscriber connection over plain TCP, made for draining a stream: it reads the
/// socket in large chunks, hands every complete PUBLISH of a chunk to the receiver at once (which appends
/// them to the spool in one write), and only then writes their PUBACKs, in one write too.
///
/// libmosquitto reads each packet with three or four `read` calls and sends each PUBACK on its own; that
/// made the receive path cost as much CPU per message as the whole rest of the ingestor. The durability rule
/// is the same as with ``MQTTClient``'s receiver: no PUBACK leaves before the receiver has taken the message,
/// and a receiver that refuses (shutting down) makes the connection close before any PUBACK of the chunk,
/// so the broker keeps those messages for the session.
///
/// Used when the broker is reached over plain TCP with MQTT 5 (TLS and older protocol versions go through
/// ``MQTTClient``). One thread does all the reading and reconnects with backoff after a connection loss;
/// requests (subscribe, unsubscribe) are written from the caller's thread and resume on the broker's ack.
final class StreamSubscriber: Sendable {
    /// One received PUBLISH.
    struct Inbound: Sendable {
        var topic: String
        var payload: [UInt8]
        var qos: UInt8
    }

    /// Takes the messages of one chunk, on the connection's thread; false when it could not keep them.
    typealias Receiver = @Sendable ([Inbound]) -> Bool

    /// A request the broker refused or could not answer.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private struct State {
        var connection: MQTTConnectionState = .idle
        var fd: Int32 = -1
        var connectWaiter: CheckedContinuation<Void, any Error>?
        var acks: [UInt16: CheckedContinuation<[UInt8], any Error>] = [:]
        var nextID: UInt16 = 0
        var lastSent = ContinuousClock.now
        var observers: [Int: AsyncStream<MQTTConnectionState>.Continuation] = [:]
        var nextObserver = 0
        var thread: ThreadCompletion?
    }

    let configuration: MQTTConfiguration
    private let receiver: Receiver
    private let logger: Logger
    private let state = Mutex(State())
    /// Interrupts the reconnect backoff when the client closes.
    private let closing = DispatchSemaphore(value: 0)

    /// Whether this connection can serve `configuration` (plain TCP, MQTT 5).
    static func supports(_ configuration: MQTTConfiguration) -> Bool {
        configuration.tls == nil && configuration.protocolVersion == .v5
    }

    init(configuration: MQTTConfiguration, logger: Logger, receiver: @escaping Receiver) {
        self.configuration = configuration
        self.logger = logger
        self.receiver = receiver
    }

    var connectionState: MQTTConnectionState { state.withLock { $0.connection } }

    var isConnected: Bool { connectionState == .connected }

    /// Connection state changes, starting with the current state; finishes when the client is closed.
    func connectionStateChanges() -> AsyncStream<MQTTConnectionState> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: MQTTConnectionState.self, bufferingPolicy: .bufferingNewest(16))
        let id = state.withLock { state -> Int? in
            continuation.yield(state.connection)
            guard state.connection != .closed else { return nil }
            state.nextObserver += 1
            state.observers[state.nextObserver] = continuation
            return state.nextObserver
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.observers.removeValue(forKey: id) }
        }
        return stream
    }

    private static func transition(_ state: inout State, to new: MQTTConnectionState) {
        guard state.connection != new else { return }
        state.connection = new
        for observer in state.observers.values { observer.yield(new) }
    }

    // MARK: Connecting

    /// Connects and returns once the broker accepted (CONNACK); throws when it cannot be reached or refuses,
    /// and may then be called again. Afterwards the connection's thread reconnects by itself.
    func connect() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let completion = ThreadCompletion()
            let accepted = state.withLock { state -> Bool in
                guard state.connection == .idle else { return false }
                state.connectWaiter = continuation
                state.thread = completion
                Self.transition(&state, to: .connecting)
                return true
            }
            guard accepted else {
                continuation.resume(throwing: Failure(description: "the connection is not idle"))
                return
            }
            let thread = Thread { [self] in
                run()
                completion.complete()
            }
            thread.name = "dtp-mqtt-stream"
            thread.start()
        }
    }

    /// The connection's thread: connects, reads until the connection drops, and reconnects with backoff,
    /// until ``disconnect()``; after a failed first attempt it ends (``connect()`` threw).
    private func run() {
        var delay = configuration.reconnectDelayMin
        var everConnected = false
        while connectionState != .closed {
            let outcome = session()
            let (waiter, acks, closed) = state.withLock { state in
                if state.fd >= 0 {
                    Glibc.close(state.fd)
                    state.fd = -1
                }
                let closed = state.connection == .closed
                if outcome.connected {
                    everConnected = true
                } else if !everConnected, !closed {
                    Self.transition(&state, to: .idle)
                } else if !closed {
                    Self.transition(&state, to: .reconnecting)
                }
                defer {
                    state.connectWaiter = nil
                    state.acks = [:]
                }
                return (state.connectWaiter, Array(state.acks.values), closed)
            }
            let failure = Failure(description: outcome.error ?? "the connection closed")
            for ack in acks { ack.resume(throwing: failure) }
            if let waiter {
                waiter.resume(throwing: failure)
                return
            }
            if closed { return }
            if outcome.connected { delay = configuration.reconnectDelayMin }
            logger.warning(
                "MQTT connection lost; reconnecting",
                metadata: ["error": "\(failure)", "clientID": "\(configuration.clientID)"])
            _ = closing.wait(timeout: .now() + .milliseconds(Int(delay / .milliseconds(1))))
            delay = min(delay * 2, configuration.reconnectDelayMax)
            if connectionState != .closed {
                state.withLock { Self.transition(&$0, to: .reconnecting) }
            }
        }
    }

    private struct Outcome {
        /// Whether the broker accepted the connection before it ended.
        var connected = false
        var error: String?
    }

    /// One connection: TCP connect, CONNECT, then reading until it ends.
    private func session() -> Outcome {
        var outcome = Outcome()
        let fd: Int32
        do {
            fd = try Self.openSocket(host: configuration.host, port: configuration.port)
        } catch {
            outcome.error = "\(error)"
            return outcome
        }
        let registered = state.withLock { state -> Bool in
            guard state.connection != .closed else { return false }
            state.fd = fd
            return true
        }
        guard registered else {
            Glibc.close(fd)
            return outcome
        }
        var expiry: UInt32?
        var cleanStart = true
        if case .persistent(let duration) = configuration.session {
            expiry = UInt32(clamping: duration.components.seconds)
            cleanStart = false
        }
        let connectPacket = MQTTWire.connectPacket(
            clientID: configuration.clientID, cleanStart: cleanStart, sessionExpiry: expiry,
            keepalive: UInt16(clamping: configuration.keepalive), username: configuration.username,
            password: configuration.password)
        guard send(connectPacket) else {
            outcome.error = "cannot send CONNECT"
            return outcome
        }
        var buffer = [UInt8](repeating: 0, count: 256 << 10)
        var filled = 0
        var acks: [UInt8] = []
        var inbound: [Inbound] = []
        let keepalive = Duration.seconds(max(1, configuration.keepalive))
        while true {
            let idle = state.withLock { ContinuousClock.now - $0.lastSent }
            if configuration.keepalive > 0, idle >= keepalive / 2 {
                guard send(MQTTWire.pingPacket) else {
                    outcome.error = "cannot send PINGREQ"
                    return outcome
                }
            }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(keepalive / .milliseconds(1) / 4))
            if ready < 0, errno == EINTR { continue }
            guard ready >= 0 else {
                outcome.error = "poll: \(String(cString: strerror(errno)))"
                return outcome
            }
            if ready == 0 { continue }
            if filled == buffer.count { buffer += [UInt8](repeating: 0, count: buffer.count) }
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else {
                outcome.error = count == 0 ? "the broker closed the connection" : String(cString: strerror(errno))
                return outcome
            }
            filled += count
            // Every complete packet in the buffer.
            var offset = 0
            var failure: String?
            buffer.withUnsafeBytes { bytes in
                while failure == nil {
                    let rest = UnsafeRawBufferPointer(rebasing: bytes[offset..<filled])
                    guard let header = MQTTWire.header(rest) else { break }
                    if header.malformed {
                        failure = "malformed packet length"
                        break
                    }
                    guard rest.count >= header.size + header.length else { break }
                    let body = UnsafeRawBufferPointer(rebasing: rest[header.size..<(header.size + header.length)])
                    failure = handle(type: header.type, body: body, inbound: &inbound, acks: &acks, outcome: &outcome)
                    offset += header.size + header.length
                }
            }
            if let failure {
                outcome.error = failure
                return outcome
            }
            if offset > 0 {
                buffer.withUnsafeMutableBytes { bytes in
                    if filled > offset {
                        bytes.baseAddress!.copyMemory(from: bytes.baseAddress! + offset, byteCount: filled - offset)
                    }
                }
                filled -= offset
            }
            if !inbound.isEmpty {
                let taken = receiver(inbound)
                inbound.removeAll(keepingCapacity: true)
                if !taken {
                    // No PUBACK of this chunk may leave: the broker keeps the messages for the session.
                    shutdown(fd, Int32(SHUT_RDWR))
                    acks.removeAll()
                    outcome.error = "the receiver refused messages"
                    return outcome
                }
            }
            if !acks.isEmpty {
                guard send(acks) else {
                    outcome.error = "cannot send PUBACK"
                    return outcome
                }
                acks.removeAll(keepingCapacity: true)
            }
        }
    }

    /// Handles one packet; returns why the connection must end, or nil.
    private func handle(
        type: UInt8, body: UnsafeRawBufferPointer, inbound: inout [Inbound], acks: inout [UInt8],
        outcome: inout Outcome
    ) -> String? {
        switch type & 0xF0 {
        case MQTTWire.publish:
            let qos = (type >> 1) & 0x03
            guard qos < 2, body.count >= 2 else { return "unexpected PUBLISH (QoS \(qos))" }
            let topicLength = Int(body[0]) << 8 | Int(body[1])
            var index = 2 + topicLength
            guard topicLength > 0, index <= body.count else { return "malformed PUBLISH topic" }
            let topic = String(decoding: UnsafeRawBufferPointer(rebasing: body[2..<index]), as: UTF8.self)
            var id: UInt16 = 0
            if qos > 0 {
                guard index + 2 <= body.count else { return "malformed PUBLISH id" }
                id = UInt16(body[index]) << 8 | UInt16(body[index + 1])
                index += 2
            }
            guard let propertiesLength = MQTTWire.readVarint(body, &index), index + propertiesLength <= body.count
            else { return "malformed PUBLISH properties" }
            index += propertiesLength
            inbound.append(Inbound(topic: topic, payload: Array(body[index...]), qos: qos))
            if qos == 1 { MQTTWire.appendPuback(id: id, to: &acks) }
        case MQTTWire.connack:
            guard body.count >= 2 else { return "malformed CONNACK" }
            let reason = body[1]
            guard reason == 0 else { return "the broker refused the connection (reason \(reason))" }
            outcome.connected = true
            let waiter = state.withLock { state in
                defer { state.connectWaiter = nil }
                Self.transition(&state, to: .connected)
                return state.connectWaiter
            }
            logger.debug(
                "MQTT connected",
                metadata: ["sessionPresent": "\(body[0] & 1 != 0)", "clientID": "\(configuration.clientID)"])
            waiter?.resume()
        case MQTTWire.suback & 0xF0, MQTTWire.unsuback & 0xF0:
            guard body.count >= 2 else { return "malformed acknowledgement" }
            let id = UInt16(body[0]) << 8 | UInt16(body[1])
            var index = 2
            var codes: [UInt8] = []
            if let propertiesLength = MQTTWire.readVarint(body, &index), index + propertiesLength <= body.count {
                codes = Array(body[(index + propertiesLength)...])
            }
            let waiter = state.withLock { $0.acks.removeValue(forKey: id) }
            waiter?.resume(returning: codes)
        case MQTTWire.pingresp:
            break
        case MQTTWire.disconnect:
            return "the broker disconnected (reason \(body.first ?? 0))"
        default:
            return "unexpected packet type \(type >> 4)"
        }
        return nil
    }

    // MARK: Requests

    /// Subscribes to `filter` at QoS 1 (at most); throws when the broker refuses or the connection drops.
    func subscribe(to filter: String) async throws {
        let codes = try await request { MQTTWire.subscribePacket(id: $0, filter: filter, qos: 1) }
        if let code = codes.first, code >= 0x80 {
            throw Failure(description: "the broker refused the subscription to \(filter) (reason \(code))")
        }
    }

    /// Unsubscribes from `filter`.
    func unsubscribe(from filter: String) async throws {
        _ = try await request { MQTTWire.unsubscribePacket(id: $0, filter: filter) }
    }

    /// Sends the packet `make` builds for a fresh packet id and waits for the broker's acknowledgement.
    private func request(_ make: @escaping @Sendable (UInt16) -> [UInt8]) async throws -> [UInt8] {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[UInt8], any Error>) in
            let sent = state.withLock { state -> Bool in
                guard state.connection == .connected, state.fd >= 0 else { return false }
                state.nextID = state.nextID == UInt16.max ? 1 : state.nextID + 1
                let id = state.nextID
                state.acks[id] = continuation
                guard Self.write(make(id), to: state.fd) else {
                    state.acks[id] = nil
                    return false
                }
                state.lastSent = .now
                return true
            }
            if !sent { continuation.resume(throwing: Failure(description: "not connected to the broker")) }
        }
    }

    /// Writes `bytes` to the current connection (under the lock, so packets never interleave).
    private func send(_ bytes: [UInt8]) -> Bool {
        state.withLock { state in
            guard state.fd >= 0, Self.write(bytes, to: state.fd) else { return false }
            state.lastSent = .now
            return true
        }
    }

    private static func write(_ bytes: [UInt8], to fd: Int32) -> Bool {
        bytes.withUnsafeBytes { buffer in
            var done = 0
            while done < buffer.count {
                let written = Glibc.send(fd, buffer.baseAddress! + done, buffer.count - done, Int32(MSG_NOSIGNAL))
                if written < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                done += written
            }
            return true
        }
    }

    // MARK: Closing

    /// Sends DISCONNECT (the persistent session stays with the broker), closes the connection and waits for
    /// its thread; the client is finished.
    func disconnect() async {
        let (thread, observers) = state.withLock { state in
            if state.fd >= 0 {
                _ = Self.write(MQTTWire.disconnectPacket, to: state.fd)
                shutdown(state.fd, Int32(SHUT_RDWR))
            }
            Self.transition(&state, to: .closed)
            defer { state.observers = [:] }
            return (state.thread, Array(state.observers.values))
        }
        for observer in observers { observer.finish() }
        closing.signal()
        await thread?.finished()
    }

    // MARK: Sockets

    /// A connected TCP socket to `host`:`port` with TCP_NODELAY.
    private static func openSocket(host: String, port: Int) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw Failure(description: "cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry {
            entry = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { continue }
            if Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 {
                var one: Int32 = 1
                setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                return fd
            }
            lastError = String(cString: strerror(errno))
            Glibc.close(fd)
        }
        throw Failure(description: "connect to \(host):\(port): \(lastError)")
    }
}
