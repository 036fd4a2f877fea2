import CMosquitto
import DTPEssentials
import Logging
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// An MQTT client over libmosquitto, for DTP's ingestor and generators.
///
/// The network runs on libmosquitto's own loop thread (`mosquitto_loop_start`), which also reconnects with
/// exponential backoff when the connection drops; calls that may block (DNS, TCP connect, joining that
/// thread) run on dedicated threads, so nothing here blocks Swift's cooperative pool. Requests resume when
/// the broker acknowledges them.
///
/// A client connects once: after ``disconnect()`` it is finished, and a new client (with the same client
/// id, for a persistent session) connects again.
public final class MQTTClient: Sendable {
    /// The settings the client was made with.
    public let configuration: MQTTConfiguration
    let core: MQTTClientCore
    let handle: MosquittoHandle

    /// Creates the libmosquitto client and applies `configuration`; nothing touches the network until
    /// ``connect()``.
    public convenience init(configuration: MQTTConfiguration, logger: Logger = Logger(label: "dtp.mqtt"))
        throws(MQTTError)
    {
        try self.init(configuration: configuration, logger: logger, receiver: nil)
    }

    /// A function that takes each inbound message synchronously on libmosquitto's loop thread and says
    /// whether it took it.
    public typealias Receiver = @Sendable (MQTTMessage) -> Bool

    /// Creates a client whose inbound messages go to `receiver`, called on libmosquitto's loop thread,
    /// instead of to ``messages`` (which then stays empty).
    ///
    /// This is for a consumer that must make a message durable before the broker learns it arrived:
    /// libmosquitto 2.0 queues a QoS 1 PUBACK before it calls the message callback, but with its own loop
    /// thread running it writes queued packets only from that thread, after the callback has returned. So
    /// whatever `receiver` has written (to a file, say) before returning is written before the PUBACK
    /// leaves, and a process killed earlier gets the message again from the broker. `receiver` may block
    /// to push back (the socket is then not read and TCP slows the broker), with the keepalive caveat of
    /// ``messages``; it must not call this client's methods that wait for the broker. When it returns false
    /// (it could not keep the message, e.g. while shutting down), the client cuts the TCP connection at
    /// once, before the PUBACK is written, so the broker keeps the message for the session; libmosquitto
    /// then reconnects as after any connection loss.
    public init(
        configuration: MQTTConfiguration, logger: Logger = Logger(label: "dtp.mqtt"), receiver: Receiver?
    ) throws(MQTTError) {
        try MosquittoLibrary.ensureInitialised()
        if case .persistent = configuration.session, configuration.clientID.isEmpty {
            throw .invalidConfiguration("a persistent session needs a client id")
        }
        let core = MQTTClientCore(configuration: configuration, logger: logger, receiver: receiver)
        let cleanStart = configuration.session == .cleanStart
        guard
            let pointer = mosquitto_new(
                configuration.clientID.isEmpty ? nil : configuration.clientID, cleanStart,
                Unmanaged.passUnretained(core).toOpaque())
        else {
            throw .library(Int32(MOSQ_ERR_NOMEM.rawValue), "mosquitto_new")
        }
        // Configured before the stored properties are set: once they are, a throwing init runs deinit,
        // which would destroy the handle a second time (closing descriptors other clients may own by then).
        do {
            try Self.configure(pointer, with: configuration)
        } catch {
            mosquitto_destroy(pointer)
            throw error
        }
        self.configuration = configuration
        self.core = core
        self.handle = MosquittoHandle(pointer: pointer)
    }

    private static func configure(_ mosq: OpaquePointer, with configuration: MQTTConfiguration) throws(MQTTError) {
        try check(
            "mosquitto_int_option(MOSQ_OPT_PROTOCOL_VERSION)",
            mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, configuration.protocolVersion.rawValue))
        let minDelay = max(1, UInt32(clamping: configuration.reconnectDelayMin.components.seconds))
        let maxDelay = max(minDelay, UInt32(clamping: configuration.reconnectDelayMax.components.seconds))
        try check(
            "mosquitto_reconnect_delay_set", mosquitto_reconnect_delay_set(mosq, minDelay, maxDelay, true))
        if configuration.username != nil || configuration.password != nil {
            try check(
                "mosquitto_username_pw_set",
                mosquitto_username_pw_set(mosq, configuration.username, configuration.password))
        }
        if let tls = configuration.tls {
            try check(
                "mosquitto_tls_set",
                mosquitto_tls_set(mosq, tls.caFile, tls.caPath, tls.certificateFile, tls.keyFile, nil))
            try check("mosquitto_tls_insecure_set", mosquitto_tls_insecure_set(mosq, tls.insecure))
        }
        mosquitto_connect_v5_callback_set(mosq, onConnect)
        mosquitto_disconnect_v5_callback_set(mosq, onDisconnect)
        mosquitto_publish_v5_callback_set(mosq, onPublish)
        mosquitto_subscribe_v5_callback_set(mosq, onSubscribe)
        mosquitto_unsubscribe_v5_callback_set(mosq, onUnsubscribe)
        mosquitto_message_v5_callback_set(mosq, onMessage)
    }

    deinit {
        let closed = core.state.withLock { $0.connection == .closed || $0.connection == .idle }
        if !closed {
            // Not disconnected: stop the loop here. This joins libmosquitto's thread on whichever thread
            // releases the client, after releasing it from a full message buffer.
            core.buffer.finish()
            mosquitto_disconnect_v5(handle.pointer, 0, nil)
            mosquitto_loop_stop(handle.pointer, false)
        }
        core.buffer.finish()
        core.failAllWaiters()
        let observers = core.state.withLock { MQTTClientCore.transition(&$0, to: .closed) }
        for observer in observers { observer.finish() }
        mosquitto_destroy(handle.pointer)
    }

    /// Where the connection stands now.
    public var connectionState: MQTTConnectionState { core.state.withLock { $0.connection } }

    /// Whether the broker has accepted the connection and it has not dropped since.
    public var isConnected: Bool { connectionState == .connected }

    /// A stream of connection state changes, starting with the current state; it finishes when the client
    /// is closed. Each call makes an independent stream.
    public func connectionStateChanges() -> AsyncStream<MQTTConnectionState> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: MQTTConnectionState.self, bufferingPolicy: .bufferingNewest(16))
        let id = core.state.withLock { state -> Int? in
            continuation.yield(state.connection)
            guard state.connection != .closed else { return nil }
            let id = state.nextObserver
            state.nextObserver += 1
            state.stateObservers[id] = continuation
            return id
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [core] _ in
            _ = core.state.withLock { $0.stateObservers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Connects and returns once the broker accepted the connection (CONNACK). Throws with libmosquitto's
    /// message when the broker cannot be reached, or with the broker's reason when it refuses; the client
    /// may then try again. After success, libmosquitto's thread keeps the connection up by itself.
    public func connect() async throws {
        let properties = try connectProperties()
        let handle = self.handle
        let configuration = self.configuration
        // The CONNACK's deadline: the waiter, if still there, fails; a waiter already resumed is gone.
        let deadline = Task { [core] in
            try? await Task.sleep(for: configuration.connectTimeout)
            if Task.isCancelled { return }
            let waiter = core.state.withLock { state in
                defer { state.connectWaiter = nil }
                return state.connectWaiter
            }
            waiter?.resume(
                throwing: MQTTError.library(
                    Int32(MOSQ_ERR_NO_CONN.rawValue),
                    "no CONNACK from \(configuration.host):\(configuration.port) within \(configuration.connectTimeout)"
                        + (configuration.tls == nil ? "" : " (over TLS: the handshake may have failed)")))
        }
        defer { deadline.cancel() }
        do {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let accepted = core.state.withLock { state in
                    guard state.connection == .idle else { return false }
                    state.connectWaiter = continuation
                    MQTTClientCore.transition(&state, to: .connecting)
                    return true
                }
                guard accepted else {
                    let closed = connectionState == .closed
                    continuation.resume(throwing: closed ? MQTTError.shutDown : MQTTError.alreadyConnected)
                    return
                }
                let core = self.core
                DetachedThread.start {
                    do throws(MQTTError) {
                        try check(
                            "connect to \(configuration.host):\(configuration.port)",
                            mosquitto_connect_bind_v5(
                                handle.pointer, configuration.host, Int32(configuration.port),
                                Int32(configuration.keepalive), nil, properties.pointer))
                        try check("mosquitto_loop_start", mosquitto_loop_start(handle.pointer))
                    } catch {
                        let waiter = core.state.withLock { state in
                            defer { state.connectWaiter = nil }
                            return state.connectWaiter
                        }
                        waiter?.resume(throwing: error)
                    }
                    properties.free()
                }
            }
        } catch {
            await stopLoopAfterFailedConnect()
            throw error
        }
    }

    /// After a failed connect the loop thread, if it started, is stopped and the client is idle again.
    private func stopLoopAfterFailedConnect() async {
        let handle = self.handle
        await onDedicatedThread {
            mosquitto_disconnect_v5(handle.pointer, 0, nil)
            // Fails harmlessly with MOSQ_ERR_INVAL when the loop thread never started.
            mosquitto_loop_stop(handle.pointer, false)
        }
        core.state.withLock { state in
            if state.connection == .connecting { MQTTClientCore.transition(&state, to: .idle) }
        }
    }

    /// The CONNECT properties: the MQTT 5 session expiry interval of a persistent session.
    private func connectProperties() throws(MQTTError) -> PropertyList {
        var list = PropertyList()
        if configuration.protocolVersion == .v5, case .persistent(let expiry) = configuration.session {
            let seconds = UInt32(clamping: expiry.components.seconds)
            try list.add(int32: seconds, MQTT_PROP_SESSION_EXPIRY_INTERVAL)
        }
        return list
    }

    /// Disconnects cleanly and finishes the client: ``messages`` ends after what is already buffered,
    /// waiting requests fail with ``MQTTError/shutDown``, and libmosquitto's thread is joined.
    ///
    /// A persistent session stays on the broker, which queues QoS 1 and 2 messages for the next client
    /// with this client id.
    public func disconnect() async {
        let (wasRunning, observers) = core.state.withLock { state in
            let running = state.connection != .closed && state.connection != .idle
            return (running, MQTTClientCore.transition(&state, to: .closed))
        }
        for observer in observers { observer.finish() }
        // First release the loop thread should it wait for room in the buffer, or it could never send
        // the DISCONNECT nor be joined.
        core.buffer.finish()
        if wasRunning {
            let handle = self.handle
            await onDedicatedThread {
                mosquitto_disconnect_v5(handle.pointer, 0, nil)
                mosquitto_loop_stop(handle.pointer, false)
            }
        }
        core.failAllWaiters()
    }
}

/// An owned MQTT 5 property list, for CONNECT.
///
/// `@unchecked Sendable`: it moves, unshared, to the thread that connects, which alone reads and frees it.
struct PropertyList: @unchecked Sendable {
    private(set) var pointer: OpaquePointer?

    mutating func add(int32 value: UInt32, _ identifier: mqtt5_property) throws(MQTTError) {
        try check(
            "mosquitto_property_add_int32", mosquitto_property_add_int32(&pointer, Int32(identifier.rawValue), value))
    }

    func free() {
        var pointer = self.pointer
        mosquitto_property_free_all(&pointer)
    }
}
