import DTPMQTT
import DTPTestSupport
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Shared helpers: the shared broker's settings, unique names, and bounded waits.
enum MQTTTest {
    /// A configuration for the shared broker (DTP_MQTT_URL, else MQTT_BROKER_HOST/PORT), with a unique client id.
    static func configuration(
        clientID: String = "test-\(UUID().uuidString)", session: MQTTConfiguration.Session = .cleanStart,
        bufferCapacity: Int = 1024
    ) throws -> MQTTConfiguration {
        var configuration: MQTTConfiguration
        if let url = TestEnvironment.shared["DTP_MQTT_URL"], !url.isEmpty {
            configuration = try MQTTConfiguration(url: url, clientID: clientID)
        } else {
            configuration = try MQTTConfiguration(environment: TestEnvironment.shared.values, clientID: clientID)
        }
        configuration.session = session
        configuration.messageBufferCapacity = bufferCapacity
        return configuration
    }

    /// A connected client on the shared broker.
    static func connectedClient(
        clientID: String = "test-\(UUID().uuidString)", session: MQTTConfiguration.Session = .cleanStart,
        bufferCapacity: Int = 1024
    ) async throws -> MQTTClient {
        let client = try MQTTClient(
            configuration: configuration(clientID: clientID, session: session, bufferCapacity: bufferCapacity))
        try await client.connect()
        return client
    }

    /// A topic prefix no other test uses.
    static func uniquePrefix(_ name: String) -> String { "dtp-test/\(name)/\(UUID().uuidString)" }

    /// Takes messages from `client` until `count` arrived or `seconds` passed.
    static func collect(_ count: Int, from client: MQTTClient, within seconds: Double = 60) async -> [MQTTMessage] {
        await withTaskGroup(of: [MQTTMessage]?.self) { group in
            group.addTask {
                var received: [MQTTMessage] = []
                for await message in client.messages {
                    received.append(message)
                    if received.count == count { break }
                }
                return received
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(seconds))
                return nil
            }
            // The first to finish wins; the other is cancelled, which ends the iteration of `messages`, and
            // after a timeout the consumer then returns what it got.
            let first = await group.next() ?? nil
            group.cancelAll()
            if let first { return first }
            let second = await group.next() ?? nil
            return second ?? []
        }
    }

    /// Waits until `client` reports `state`, or fails after `seconds`.
    static func waitFor(_ state: MQTTConnectionState, of client: MQTTClient, within seconds: Double = 30) async throws {
        let reached = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await current in client.connectionStateChanges() where current == state { return true }
                return false
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(seconds))
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        try #require(reached, "client did not become \(state) within \(seconds)s (it is \(client.connectionState))")
    }

    /// Runs `scripts/dev-services scratch mosquitto NAME PORT ACTION`.
    static func scratchBroker(name: String, port: Int, _ action: DevServices.Action) async throws {
        try await DevServices.scratch(.mosquitto, name: name, port: port, action)
    }

    /// Deletes a stopped scratch broker's data, logs and PID file.
    static func removeScratchBroker(name: String) { DevServices.removeScratch(.mosquitto, name: name) }

    /// The `(topic, sequence)` of a payload `"<sequence>"`.
    static func sequence(_ message: MQTTMessage) -> Int { Int(message.payloadString) ?? -1 }
}
