import CMosquitto
import Synchronization

extension MQTTClient {
    /// Subscribes to `filter` and returns the QoS the broker granted, once its SUBACK arrived. Throws when
    /// the client is not connected or the broker refuses the subscription (reason code 0x80 or above, e.g.
    /// not authorised, or shared subscriptions not supported).
    ///
    /// `filter` may be an MQTT 5 shared subscription, `$share/<group>/<filter>` (see
    /// ``sharedSubscription(group:filter:)``): the broker then hands each message to one member of the group.
    /// The client remembers its subscriptions and sends them again after a reconnect in which the broker
    /// reports no session present (a clean start, or an expired session).
    @discardableResult
    public func subscribe(to filter: String, qos: MQTTQoS = .atLeastOnce) async throws -> MQTTQoS {
        guard isConnected || connectionState == .reconnecting else { throw MQTTError.notConnected }
        var mid: Int32 = 0
        // Remembered first, so that a reconnect racing with the SUBACK re-sends it.
        core.state.withLock { $0.subscriptions[filter] = qos }
        let granted: [Int32]
        do {
            try check(
                "subscribe to '\(filter)'", mosquitto_subscribe_v5(handle.pointer, &mid, filter, qos.rawValue, 0, nil))
            granted = try await withCheckedThrowingContinuation {
                (continuation: CheckedContinuation<[Int32], any Error>) in
                if let granted = core.state.withLock({ $0.subscribes.wait(for: mid, continuation) }) {
                    continuation.resume(returning: granted)
                }
            }
        } catch {
            core.state.withLock { _ = $0.subscriptions.removeValue(forKey: filter) }
            throw error
        }
        guard let code = granted.first, let grantedQoS = MQTTQoS(rawValue: code) else {
            core.state.withLock { _ = $0.subscriptions.removeValue(forKey: filter) }
            throw MQTTError.subscriptionRejected(granted.first ?? 0x80, filter: filter)
        }
        return grantedQoS
    }

    /// Unsubscribes from `filter` (exactly as it was subscribed) and returns once the broker's UNSUBACK
    /// arrived; the broker sends no message of that subscription after it. Messages it sent before may
    /// still be in ``messages``.
    public func unsubscribe(from filter: String) async throws {
        guard isConnected || connectionState == .reconnecting else { throw MQTTError.notConnected }
        core.state.withLock { _ = $0.subscriptions.removeValue(forKey: filter) }
        var mid: Int32 = 0
        try check("unsubscribe from '\(filter)'", mosquitto_unsubscribe_v5(handle.pointer, &mid, filter, nil))
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            if core.state.withLock({ $0.unsubscribes.wait(for: mid, continuation) }) != nil {
                continuation.resume()
            }
        }
    }

    /// The filter of an MQTT 5 shared subscription: `$share/<group>/<filter>`.
    public static func sharedSubscription(group: String, filter: String) -> String {
        "$share/\(group)/\(filter)"
    }

    /// The filters this client is subscribed to, with their requested QoS.
    public var subscriptions: [String: MQTTQoS] { core.state.withLock { $0.subscriptions } }
}
