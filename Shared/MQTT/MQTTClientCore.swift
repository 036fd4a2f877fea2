import CMosquitto
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The replies for requests identified by a message id (PUBACK, SUBACK, UNSUBACK), which libmosquitto
/// reports on its loop thread, possibly before the caller that sent the request has parked its
/// continuation: such an early reply is kept until the caller collects it.
struct AckTable<Value: Sendable> {
    private var waiters: [Int32: CheckedContinuation<Value, any Error>] = [:]
    private var early: [Int32: Value] = [:]
    private var ignored: Set<Int32> = []

    /// Parks `continuation` for `mid`, or returns the reply that already arrived.
    mutating func wait(for mid: Int32, _ continuation: CheckedContinuation<Value, any Error>) -> Value? {
        if let value = early.removeValue(forKey: mid) { return value }
        waiters[mid] = continuation
        return nil
    }

    /// The continuation waiting for `mid`; when none waits yet, the reply is kept for a later `wait`.
    /// Nil for ignored ids too (requests sent without a waiter, like re-subscriptions after a reconnect).
    mutating func reply(_ value: Value, for mid: Int32) -> CheckedContinuation<Value, any Error>? {
        if ignored.remove(mid) != nil { return nil }
        if let waiter = waiters.removeValue(forKey: mid) { return waiter }
        early[mid] = value
        return nil
    }

    /// Replies for `mid` are to be dropped: nobody will wait for them.
    mutating func ignore(_ mid: Int32) {
        if early.removeValue(forKey: mid) == nil { ignored.insert(mid) }
    }

    /// Every parked continuation, removed, for failing them at shutdown.
    mutating func removeAll() -> [CheckedContinuation<Value, any Error>] {
        defer {
            waiters = [:]
            early = [:]
            ignored = []
        }
        return Array(waiters.values)
    }
}

/// What the libmosquitto callbacks reach: the state shared between the loop thread and callers.
///
/// Kept apart from ``MQTTClient`` so that the callbacks, which get it through libmosquitto's user-data
/// pointer, never keep the client alive; the client outlives the handle, which it destroys in `deinit`
/// before this object goes.
final class MQTTClientCore: Sendable {
    struct State {
        var connection: MQTTConnectionState = .idle
        var connectWaiter: CheckedContinuation<Void, any Error>?
        var hasConnected = false
        var publishes = AckTable<Int32>()
        var subscribes = AckTable<[Int32]>()
        var unsubscribes = AckTable<Void>()
        /// Active subscriptions by filter, to re-send when the broker lost the session.
        var subscriptions: [String: MQTTQoS] = [:]
        var stateObservers: [Int: AsyncStream<MQTTConnectionState>.Continuation] = [:]
        var nextObserver = 0
    }

    let state = Mutex(State())
    let buffer: MessageBuffer
    let logger: Logger
    let configuration: MQTTConfiguration
    /// Takes each inbound message on the loop thread instead of ``buffer``; see
    /// ``MQTTClient/init(configuration:logger:receiver:)``.
    let receiver: MQTTClient.Receiver?

    init(configuration: MQTTConfiguration, logger: Logger, receiver: MQTTClient.Receiver? = nil) {
        self.configuration = configuration
        self.logger = logger
        self.receiver = receiver
        buffer = MessageBuffer(capacity: configuration.messageBufferCapacity)
    }

    /// Sets the connection state and tells observers; call with the lock held. Closing returns the observers'
    /// continuations, which the caller must finish after unlocking (finishing runs their termination
    /// handlers, which take the lock).
    @discardableResult
    static func transition(
        _ state: inout State, to new: MQTTConnectionState
    ) -> [AsyncStream<MQTTConnectionState>.Continuation] {
        guard state.connection != new else { return [] }
        state.connection = new
        for observer in state.stateObservers.values { observer.yield(new) }
        guard new == .closed else { return [] }
        defer { state.stateObservers = [:] }
        return Array(state.stateObservers.values)
    }

    // MARK: Callbacks, on libmosquitto's loop thread

    func connected(_ mosq: OpaquePointer?, reason: Int32, flags: Int32) {
        let sessionPresent = flags & 1 != 0
        if reason != 0 {
            let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                defer { state.connectWaiter = nil }
                return state.connectWaiter
            }
            logger.warning(
                "MQTT broker refused the connection",
                metadata: ["reason": "\(MQTTError.reasonString(reason))", "clientID": "\(configuration.clientID)"])
            // Refused: stop the loop thread's reconnect attempts; connect() joins it.
            mosquitto_disconnect_v5(mosq, 0, nil)
            waiter?.resume(throwing: MQTTError.connectionRefused(reason))
            return
        }
        let (waiter, resubscribe) = state.withLock { state in
            let waiter = state.connectWaiter
            state.connectWaiter = nil
            let reconnect = state.hasConnected
            state.hasConnected = true
            Self.transition(&state, to: .connected)
            return (waiter, reconnect && !sessionPresent ? state.subscriptions : [:])
        }
        logger.debug(
            "MQTT connected",
            metadata: ["sessionPresent": "\(sessionPresent)", "clientID": "\(configuration.clientID)"])
        if !resubscribe.isEmpty { self.resubscribe(mosq, resubscribe) }
        waiter?.resume()
    }

    /// The broker lost the session (clean start, or it expired): subscriptions are sent again without anyone
    /// waiting for their SUBACK, which is only logged.
    private func resubscribe(_ mosq: OpaquePointer?, _ subscriptions: [String: MQTTQoS]) {
        logger.info(
            "MQTT session not present after reconnect; subscribing again",
            metadata: [
                "subscriptions": "\(subscriptions.count)", "clientID": "\(configuration.clientID)",
            ])
        for (filter, qos) in subscriptions {
            var mid: Int32 = 0
            do {
                try check(
                    "mosquitto_subscribe_v5(\(filter))",
                    mosquitto_subscribe_v5(mosq, &mid, filter, qos.rawValue, 0, nil))
                state.withLock { $0.subscribes.ignore(mid) }
            } catch {
                logger.error("MQTT re-subscription failed", metadata: ["filter": "\(filter)", "error": "\(error)"])
            }
        }
    }

    func disconnected(reason: Int32) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            let waiter = state.connectWaiter
            state.connectWaiter = nil
            if state.connection == .connected { Self.transition(&state, to: .reconnecting) }
            return waiter
        }
        if let waiter {
            // The connection ended before a CONNACK: connect() fails rather than waiting through retries.
            waiter.resume(throwing: MQTTError.library(reason, "connection closed before CONNACK"))
        } else if reason != 0 {
            logger.warning(
                "MQTT connection lost; reconnecting",
                metadata: [
                    "error": "\(String(cString: mosquitto_strerror(reason)))", "clientID": "\(configuration.clientID)",
                ])
        }
    }

    func published(mid: Int32, reason: Int32) {
        let waiter = state.withLock { $0.publishes.reply(reason, for: mid) }
        waiter?.resume(returning: reason)
    }

    func subscribed(mid: Int32, granted: [Int32]) {
        let waiter = state.withLock { $0.subscribes.reply(granted, for: mid) }
        if let waiter {
            waiter.resume(returning: granted)
        } else if let failure = granted.first(where: { $0 >= 0x80 }) {
            logger.error("MQTT re-subscription refused", metadata: ["reason": "\(MQTTError.reasonString(failure))"])
        }
    }

    func unsubscribed(mid: Int32) {
        let waiter = state.withLock { $0.unsubscribes.reply((), for: mid) }
        waiter?.resume()
    }

    func received(_ message: UnsafePointer<mosquitto_message>, on mosq: OpaquePointer?) {
        let m = message.pointee
        let payload: [UInt8] =
            m.payloadlen > 0 && m.payload != nil
            ? Array(UnsafeRawBufferPointer(start: m.payload, count: Int(m.payloadlen))) : []
        if let receiver {
            let accepted = receiver(
                MQTTMessage(
                    topic: String(cString: m.topic), payload: payload,
                    qos: MQTTQoS(rawValue: m.qos) ?? .atMostOnce, retain: m.retain, mid: m.mid))
            if !accepted {
                // The PUBACK is queued already; cutting the connection before the loop can write it makes
                // the broker keep the message for the session (reconnecting, or the next process).
                let socket = mosquitto_socket(mosq)
                if socket >= 0 { _ = shutdown(socket, Int32(SHUT_RDWR)) }
                logger.debug("MQTT message refused by the receiver; connection cut before its PUBACK")
            }
            return
        }
        let delivered = buffer.push(
            MQTTMessage(
                topic: String(cString: m.topic), payload: payload, qos: MQTTQoS(rawValue: m.qos) ?? .atMostOnce,
                retain: m.retain, mid: m.mid),
            moreImminent: { Self.nextPacketIsPublish(mosq) })
        if !delivered {
            logger.debug("MQTT message dropped during shutdown", metadata: ["topic": "\(String(cString: m.topic))"])
        }
    }

    /// Whether the socket already holds the start of another PUBLISH (or the PUBREL that completes an inbound
    /// QoS 2 message), which libmosquitto's loop reads, and hands to the message callback, without waiting.
    /// libmosquitto reads whole packets, so in the message callback the socket sits at a packet boundary and
    /// its first byte is the next packet's type. Over TLS the bytes are encrypted and never look like a
    /// PUBLISH, which only costs a wake-up.
    private static func nextPacketIsPublish(_ mosq: OpaquePointer?) -> Bool {
        let socket = mosquitto_socket(mosq)
        guard socket >= 0 else { return false }
        var first: UInt8 = 0
        guard recv(socket, &first, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT)) == 1 else { return false }
        return first & 0xF0 == 0x30 || first == 0x62
    }

    /// Fails everything still waiting, at shutdown.
    func failAllWaiters() {
        let (connect, publishes, subscribes, unsubscribes) = state.withLock { state in
            defer { state.connectWaiter = nil }
            return (
                state.connectWaiter, state.publishes.removeAll(), state.subscribes.removeAll(),
                state.unsubscribes.removeAll()
            )
        }
        connect?.resume(throwing: MQTTError.shutDown)
        for waiter in publishes { waiter.resume(throwing: MQTTError.shutDown) }
        for waiter in subscribes { waiter.resume(throwing: MQTTError.shutDown) }
        for waiter in unsubscribes { waiter.resume(throwing: MQTTError.shutDown) }
    }
}

// C function pointers cannot capture: each callback finds the core through libmosquitto's user data.

private func core(_ userData: UnsafeMutableRawPointer?) -> MQTTClientCore {
    Unmanaged<MQTTClientCore>.fromOpaque(userData!).takeUnretainedValue()
}

let onConnect: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, Int32, Int32, OpaquePointer?) -> Void = {
    mosq, userData, reason, flags, _ in core(userData).connected(mosq, reason: reason, flags: flags)
}

let onDisconnect: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, Int32, OpaquePointer?) -> Void = {
    _, userData, reason, _ in core(userData).disconnected(reason: reason)
}

let onPublish: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, Int32, Int32, OpaquePointer?) -> Void = {
    _, userData, mid, reason, _ in core(userData).published(mid: mid, reason: reason)
}

let onSubscribe:
    @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, Int32, Int32, UnsafePointer<Int32>?, OpaquePointer?) ->
        Void = { _, userData, mid, count, granted, _ in
            let codes = granted.map { Array(UnsafeBufferPointer(start: $0, count: Int(count))) } ?? []
            core(userData).subscribed(mid: mid, granted: codes)
        }

let onUnsubscribe: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, Int32, OpaquePointer?) -> Void = {
    _, userData, mid, _ in core(userData).unsubscribed(mid: mid)
}

let onMessage:
    @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafePointer<mosquitto_message>?, OpaquePointer?) ->
        Void = { mosq, userData, message, _ in
            if let message { core(userData).received(message, on: mosq) }
        }
