import DTPMQTT
import Foundation
import Synchronization
import Testing

@Suite struct MQTTDeliveryTests {
    /// Publishes `count` sequence numbers to `topic`, in order, each after the previous one's PUBACK.
    static func publishSequence(_ count: Int, to topic: String, from client: MQTTClient) async throws {
        for sequence in 0..<count {
            try await client.publish("\(sequence)", to: topic, qos: .atLeastOnce)
        }
    }

    @Test func tenThousandQoS1MessagesArriveExactlyOnceInOrderPerTopic() async throws {
        let prefix = MQTTTest.uniquePrefix("ten-thousand")
        let topics = (0..<4).map { "\(prefix)/t\($0)" }
        let perTopic = 2_500
        let subscriber = try await MQTTTest.connectedClient()
        let publisher = try await MQTTTest.connectedClient()
        try await subscriber.subscribe(to: "\(prefix)/+", qos: .atLeastOnce)

        async let received = MQTTTest.collect(topics.count * perTopic, from: subscriber, within: 90)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for topic in topics {
                group.addTask { try await Self.publishSequence(perTopic, to: topic, from: publisher) }
            }
            try await group.waitForAll()
        }
        let messages = await received
        #expect(messages.count == topics.count * perTopic)
        for topic in topics {
            let sequences = messages.filter { $0.topic == topic }.map(MQTTTest.sequence)
            // In order, no gaps and no duplicates, per topic.
            #expect(sequences == Array(0..<perTopic), "topic \(topic): \(sequences.count) messages")
        }
        #expect(messages.allSatisfy { $0.qos == .atLeastOnce })
        await publisher.disconnect()
        await subscriber.disconnect()
    }

    @Test func slowConsumerWithSmallBufferLosesNothing() async throws {
        let topic = MQTTTest.uniquePrefix("slow")
        let total = 400
        let subscriber = try await MQTTTest.connectedClient(bufferCapacity: 16)
        let publisher = try await MQTTTest.connectedClient()
        try await subscriber.subscribe(to: topic)

        let consumer = Task {
            var sequences: [Int] = []
            for await message in subscriber.messages {
                // Slow for the first part, so the buffer fills and the loop thread has to wait.
                if sequences.count < 100 { try? await Task.sleep(for: .milliseconds(5)) }
                sequences.append(MQTTTest.sequence(message))
                if sequences.count == total { break }
            }
            return sequences
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for sequence in 0..<total {
                group.addTask { try await publisher.publish("\(sequence)", to: topic, qos: .atLeastOnce) }
            }
            try await group.waitForAll()
        }
        let timeout = Task {
            try await Task.sleep(for: .seconds(60))
            consumer.cancel()
        }
        let sequences = await consumer.value
        timeout.cancel()
        #expect(sequences.count == total)
        #expect(Set(sequences) == Set(0..<total))
        await publisher.disconnect()
        await subscriber.disconnect()
    }

    @Test func sharedSubscriptionSplitsTheStreamExactlyOnce() async throws {
        let topic = MQTTTest.uniquePrefix("shared")
        let filter = MQTTClient.sharedSubscription(group: "g-\(UUID().uuidString.prefix(8))", filter: topic)
        let total = 2_000
        let first = try await MQTTTest.connectedClient()
        let second = try await MQTTTest.connectedClient()
        let publisher = try await MQTTTest.connectedClient()
        try await first.subscribe(to: filter)
        try await second.subscribe(to: filter)

        let received = Shares()
        let consumers = [first, second].enumerated().map { index, client in
            Task {
                for await message in client.messages {
                    received.value.withLock { $0[index].append(MQTTTest.sequence(message)) }
                }
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for sequence in 0..<total {
                group.addTask { try await publisher.publish("\(sequence)", to: topic, qos: .atLeastOnce) }
            }
            try await group.waitForAll()
        }
        // Wait until everything arrived, then a little longer so that duplicates would show.
        let deadline = ContinuousClock.now + .seconds(60)
        while received.value.withLock({ $0[0].count + $0[1].count }) < total && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: .milliseconds(300))
        for consumer in consumers { consumer.cancel() }

        let shares = received.value.withLock { $0 }
        #expect(shares[0].count + shares[1].count == total)
        #expect(Set(shares[0]).isDisjoint(with: shares[1]))
        #expect(Set(shares[0]).union(shares[1]) == Set(0..<total))
        #expect(!shares[0].isEmpty)
        #expect(!shares[1].isEmpty)
        await publisher.disconnect()
        await first.disconnect()
        await second.disconnect()
    }
}

/// What each member of a shared subscription received, shared between its consumer task and the test.
private final class Shares: Sendable {
    let value = Mutex<[[Int]]>([[], []])
}
