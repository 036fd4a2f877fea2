import DTPMQTT
import Foundation
import Synchronization

/// Collects every message a subscriber receives, in the background.
public final class Collector: Sendable {
    /// The subscriber.
    public let client: MQTTClient
    private let store = MessageStore()
    private let task: Task<Void, Never>

    /// Connects to `brokerURL` and subscribes to `topics` at QoS 1.
    public init(brokerURL: String, topics: [String], clientID: String = "test-sub-\(UUID().uuidString)",
         session: MQTTConfiguration.Session = .cleanStart) async throws {
        var configuration = try MQTTConfiguration(url: brokerURL, clientID: clientID)
        configuration.session = session
        configuration.reconnectDelayMax = .seconds(2)
        client = try MQTTClient(configuration: configuration)
        try await client.connect()
        for topic in topics { _ = try await client.subscribe(to: topic, qos: .atLeastOnce) }
        let client = self.client
        let store = self.store
        task = Task {
            for await message in client.messages { store.messages.withLock { $0.append(message) } }
        }
    }

    /// Every message so far, in arrival order.
    public var messages: [MQTTMessage] { store.messages.withLock { $0 } }

    /// The payloads on `topic` that decode as `T`.
    public func decoded<T: Decodable>(_ type: T.Type, on topic: String) -> [T] {
        messages.filter { $0.topic == topic }.compactMap { try? JSONDecoder().decode(T.self, from: Data($0.payload)) }
    }

    /// Disconnects and stops collecting.
    public func close() async {
        await client.disconnect()
        task.cancel()
    }
}

/// Bounded waits for conditions: never a fixed sleep that a busy machine could outrun.
public enum Wait {
    /// The condition did not come true in time.
    public struct TimedOut: Error, CustomStringConvertible {
        /// What was waited for.
        public let what: String
        /// `timed out waiting for …`.
        public var description: String { "timed out waiting for \(what)" }
    }

    /// Polls `condition` every 50 ms until it holds; throws ``TimedOut`` after `seconds`.
    public static func until(_ what: String, within seconds: Double, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TimedOut(what: what)
    }
}

/// The messages a ``Collector`` received, shared with its reading task.
final class MessageStore: Sendable {
    let messages = Mutex<[MQTTMessage]>([])
}
