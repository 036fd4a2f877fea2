/// MQTT delivery guarantees.
public enum MQTTQoS: Int32, Sendable, Comparable {
    /// Fire and forget.
    case atMostOnce = 0
    /// Acknowledged; may arrive more than once.
    case atLeastOnce = 1
    /// Acknowledged in two steps; arrives once.
    case exactlyOnce = 2

    /// Lower guarantees order first.
    public static func < (lhs: MQTTQoS, rhs: MQTTQoS) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// An inbound publication, copied out of libmosquitto's buffers so it outlives the callback.
public struct MQTTMessage: Sendable, Hashable {
    /// The topic it was published to (never a filter).
    public var topic: String
    /// The payload bytes, as published.
    public var payload: [UInt8]
    /// The QoS it was delivered with (the lower of the publisher's and the subscription's).
    public var qos: MQTTQoS
    /// Whether the broker delivered it from its retained store rather than live.
    public var retain: Bool
    /// The packet identifier of the delivery (0 for QoS 0); scoped to one connection, not unique.
    public var mid: Int32

    /// A message with every field given; the client makes these, tests may too.
    public init(topic: String, payload: [UInt8], qos: MQTTQoS = .atMostOnce, retain: Bool = false, mid: Int32 = 0) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.mid = mid
    }

    /// The payload decoded as UTF-8, with invalid bytes replaced.
    public var payloadString: String { String(decoding: payload, as: UTF8.self) }
}

/// Where an ``MQTTClient``'s connection stands.
public enum MQTTConnectionState: Sendable, Equatable {
    /// Not yet connected, or a connect attempt failed; `connect()` may be called.
    case idle
    /// `connect()` is waiting for the broker's CONNACK.
    case connecting
    /// The broker accepted the connection.
    case connected
    /// The connection dropped; libmosquitto's loop thread is reconnecting with backoff.
    case reconnecting
    /// `disconnect()` was called; the client is finished.
    case closed
}
