import CMosquitto
import Synchronization

extension MQTTClient {
    /// Publishes `payload` to `topic` and returns when the broker has it: at QoS 0 once libmosquitto wrote
    /// it, at QoS 1 on PUBACK, at QoS 2 on PUBCOMP. Throws when the client is not connected, when the payload
    /// is too large for MQTT or the broker's maximum packet size, and when the broker refuses it (an MQTT 5
    /// reason code of 0x80 or above).
    ///
    /// Many publications may be in flight at once from concurrent tasks; libmosquitto queues those beyond
    /// the broker's receive maximum. A QoS 1/2 publication that waits while the connection drops is sent
    /// again after the reconnect.
    public func publish(_ payload: [UInt8], to topic: String, qos: MQTTQoS = .atLeastOnce, retain: Bool = false)
        async throws
    {
        switch connectionState {
        case .idle, .connecting, .closed: throw MQTTError.notConnected
        case .connected, .reconnecting: break
        }
        var mid: Int32 = 0
        let status = payload.withUnsafeBytes { bytes in
            mosquitto_publish_v5(
                handle.pointer, &mid, topic, Int32(clamping: bytes.count), bytes.baseAddress, qos.rawValue, retain,
                nil)
        }
        do {
            try check("publish to '\(topic)'", status)
        } catch {
            // libmosquitto may have queued a QoS 1/2 message before failing to send it; if it later
            // completes, nobody waits for its acknowledgement any more.
            if mid != 0 { core.state.withLock { $0.publishes.ignore(mid) } }
            throw error
        }
        let reason = try await withCheckedThrowingContinuation {
            (continuation: CheckedContinuation<Int32, any Error>) in
            if let reason = core.state.withLock({ $0.publishes.wait(for: mid, continuation) }) {
                continuation.resume(returning: reason)
            }
        }
        if reason >= 0x80 { throw MQTTError.publishRejected(reason, topic: topic) }
    }

    /// Publishes the UTF-8 bytes of `payload`; see ``publish(_:to:qos:retain:)-([UInt8],_,_,_)``.
    public func publish(_ payload: String, to topic: String, qos: MQTTQoS = .atLeastOnce, retain: Bool = false)
        async throws
    {
        try await publish(Array(payload.utf8), to: topic, qos: qos, retain: retain)
    }
}
