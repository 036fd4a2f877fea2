import DTPMQTT

/// One MQTT publication a generator wants sent.
public struct OutboundMessage: Sendable, Hashable {
    /// The topic to publish on.
    public var topic: String
    /// The payload, usually JSON.
    public var payload: [UInt8]
    /// At most once (telemetry) or at least once (alerts and events).
    public var qos: MQTTQoS

    /// A publication of `payload` on `topic` at `qos`.
    public init(topic: String, payload: [UInt8], qos: MQTTQoS) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
    }

    /// A publication of `value` encoded as JSON.
    public init(topic: String, json value: some Encodable, qos: MQTTQoS) {
        self.init(topic: topic, payload: TwinJSON.encode(value), qos: qos)
    }
}
