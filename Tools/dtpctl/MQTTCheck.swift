import DTPMQTT
import Foundation

/// MQTT: a QoS 1 publish/subscribe round trip on a topic of its own.
enum MQTTCheck {
    static func probe(_ environment: [String: String]) throws -> WiringCheck.Probe {
        let clientID = "dtpctl-\(UUID().uuidString.prefix(8))"
        var configuration: MQTTConfiguration
        if let url = environment["DTP_MQTT_URL"], !url.isEmpty {
            configuration = try MQTTConfiguration(url: url, clientID: clientID)
        } else if environment["MQTT_BROKER_HOST"] != nil {
            configuration = try MQTTConfiguration(environment: environment, clientID: clientID)
        } else {
            throw WiringCheck.NotConfigured(reason: "DTP_MQTT_URL and MQTT_BROKER_HOST are not set")
        }
        if configuration.username == nil, let user = environment["MQTT_USERNAME"], !user.isEmpty {
            configuration.username = user
            configuration.password = environment["MQTT_PASSWORD"]
        }
        return { [configuration] _ in
            let client = try MQTTClient(configuration: configuration)
            do {
                let result = try await roundTrip(client)
                await client.disconnect()
                return result
            } catch {
                await client.disconnect()
                throw error
            }
        }
    }

    static func roundTrip(_ client: MQTTClient) async throws -> (version: String?, detail: String) {
        try await client.connect()
        let topic = "dtp/wiring-check/\(UUID().uuidString)"
        let payload = "wiring check \(UUID().uuidString)"
        // Mosquitto keeps its version as a retained $SYS message; other brokers may not, which is fine.
        let versionTopic = "$SYS/broker/version"
        _ = try? await client.subscribe(to: versionTopic, qos: .atMostOnce)
        _ = try await client.subscribe(to: topic, qos: .atLeastOnce)
        try await client.publish(payload, to: topic, qos: .atLeastOnce)
        var version: String?
        for try await message in client.messages {
            if message.topic == versionTopic {
                version = message.payloadString
                continue
            }
            guard message.topic == topic else { continue }
            guard message.payloadString == payload else {
                throw Mismatch(description: "published \(payload.count) bytes, received different ones")
            }
            try await client.unsubscribe(from: topic)
            return (version, "QoS 1 message published and received on \(topic)")
        }
        throw Mismatch(description: "the subscription ended before the message arrived")
    }
}
