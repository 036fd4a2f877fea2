import DTPMQTT
import DTPTestSupport
import Foundation
import Testing

@Suite struct MQTTClientTests {
    @Test func connectToClosedPortFailsWithTheSystemMessage() async throws {
        let port = TestPorts.free()
        let client = try MQTTClient(configuration: MQTTConfiguration(host: "127.0.0.1", port: port))
        await #expect {
            try await client.connect()
        } throws: { error in
            "\(error)".lowercased().contains("connection refused") && "\(error)".contains("\(port)")
        }
        #expect(client.connectionState == .idle)
        await #expect(throws: MQTTError.notConnected) {
            try await client.publish("x", to: "dtp-test/nowhere")
        }
    }

    @Test func connectsAndDisconnects() async throws {
        let client = try await MQTTTest.connectedClient()
        #expect(client.isConnected)
        await #expect(throws: MQTTError.alreadyConnected) { try await client.connect() }
        await client.disconnect()
        #expect(client.connectionState == .closed)
        // The message sequence ends once the client is finished.
        var iterator = client.messages.makeAsyncIterator()
        #expect(await iterator.next() == nil)
    }

    @Test(arguments: [MQTTQoS.atMostOnce, .atLeastOnce, .exactlyOnce])
    func publishCompletesAndIsDelivered(qos: MQTTQoS) async throws {
        let topic = MQTTTest.uniquePrefix("publish") + "/q\(qos.rawValue)"
        let subscriber = try await MQTTTest.connectedClient()
        let publisher = try await MQTTTest.connectedClient()
        let granted = try await subscriber.subscribe(to: topic, qos: .exactlyOnce)
        #expect(granted == .exactlyOnce)
        for sequence in 0..<20 {
            try await publisher.publish("\(sequence)", to: topic, qos: qos)
        }
        let received = await MQTTTest.collect(20, from: subscriber, within: 20)
        #expect(received.map(MQTTTest.sequence) == Array(0..<20))
        #expect(received.allSatisfy { $0.topic == topic && $0.qos == qos && !$0.retain })
        await publisher.disconnect()
        await subscriber.disconnect()
    }

    @Test func manyConcurrentPublicationsAllComplete() async throws {
        let topic = MQTTTest.uniquePrefix("concurrent")
        let publisher = try await MQTTTest.connectedClient()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for sequence in 0..<2000 {
                group.addTask { try await publisher.publish("\(sequence)", to: topic, qos: .atLeastOnce) }
            }
            try await group.waitForAll()
        }
        await publisher.disconnect()
    }

    @Test func unsubscribeStopsDelivery() async throws {
        let prefix = MQTTTest.uniquePrefix("unsubscribe")
        let subscriber = try await MQTTTest.connectedClient()
        let publisher = try await MQTTTest.connectedClient()
        try await subscriber.subscribe(to: "\(prefix)/a")
        try await subscriber.subscribe(to: "\(prefix)/b")
        #expect(Set(subscriber.subscriptions.keys) == ["\(prefix)/a", "\(prefix)/b"])
        for sequence in 0..<5 { try await publisher.publish("\(sequence)", to: "\(prefix)/a") }
        let before = await MQTTTest.collect(5, from: subscriber, within: 20)
        #expect(before.count == 5)

        try await subscriber.unsubscribe(from: "\(prefix)/a")
        #expect(Array(subscriber.subscriptions.keys) == ["\(prefix)/b"])
        for sequence in 5..<15 { try await publisher.publish("\(sequence)", to: "\(prefix)/a") }
        // Everything the publisher sent goes through the broker in order, so once the marker on b arrived,
        // any message of a after the UNSUBACK would have arrived before it.
        try await publisher.publish("marker", to: "\(prefix)/b")
        let after = await MQTTTest.collect(1, from: subscriber, within: 20)
        #expect(after.map(\.topic) == ["\(prefix)/b"])
        #expect(after.first?.payloadString == "marker")
        await publisher.disconnect()
        await subscriber.disconnect()
    }

    @Test func invalidFilterThrowsAndIsNotRemembered() async throws {
        let client = try await MQTTTest.connectedClient()
        await #expect {
            try await client.subscribe(to: "dtp-test/#/invalid")
        } throws: { error in
            "\(error)".contains("dtp-test/#/invalid")
        }
        #expect(client.subscriptions.isEmpty)
        await client.disconnect()
    }

    @Test func cancellingTheConsumerDoesNotDeadlock() async throws {
        let topic = MQTTTest.uniquePrefix("cancel")
        let subscriber = try await MQTTTest.connectedClient(bufferCapacity: 4)
        let publisher = try await MQTTTest.connectedClient()
        try await subscriber.subscribe(to: topic)
        let consumer = Task {
            var count = 0
            for await _ in subscriber.messages { count += 1 }
            return count
        }
        for sequence in 0..<50 { try await publisher.publish("\(sequence)", to: topic) }
        consumer.cancel()
        let consumed = await consumer.value
        #expect(consumed <= 50)
        // The loop thread may be waiting for room now; disconnect must release it rather than hang.
        await subscriber.disconnect()
        await publisher.disconnect()
        #expect(subscriber.connectionState == .closed)
    }
}

@Suite struct MQTTClientLimitTests {
    @Test func oversizedPublicationIsRefusedWithTheBrokerReason() async throws {
        // DTP's broker config caps messages at 1 MiB (message_size_limit).
        let client = try await MQTTTest.connectedClient()
        let topic = MQTTTest.uniquePrefix("oversized")
        await #expect {
            try await client.publish([UInt8](repeating: 0x41, count: 2 << 20), to: topic, qos: .atLeastOnce)
        } throws: { error in
            (error as? MQTTError)?.reasonCode == 0x95 && "\(error)".contains("Packet too large")
        }
        // The connection stays usable.
        try await client.publish("small", to: topic, qos: .atLeastOnce)
        await client.disconnect()
    }

    @Test func unreadableCAFileFailsAtConfiguration() throws {
        let configuration = MQTTConfiguration(
            host: "127.0.0.1", port: 8883, tls: .init(caFile: "/nonexistent/dtp-ca.pem"))
        #expect {
            try MQTTClient(configuration: configuration)
        } throws: { error in
            "\(error)".contains("mosquitto_tls_set")
        }
    }
}

@Suite struct MQTTClientLifetimeTests {
    @Test func releasingAClientWhoseLoopThreadWaitsForRoomDoesNotHang() async throws {
        let topic = MQTTTest.uniquePrefix("release")
        let publisher = try await MQTTTest.connectedClient()
        var messages: MQTTMessages
        do {
            let subscriber = try await MQTTTest.connectedClient(bufferCapacity: 2)
            try await subscriber.subscribe(to: topic)
            messages = subscriber.messages
            for sequence in 0..<20 { try await publisher.publish("\(sequence)", to: topic) }
            // Nobody consumes: the loop thread now waits for room. Releasing the client must free it.
            try await Task.sleep(for: .milliseconds(100))
        }
        // The sequence outlives the client: what was buffered comes out, then it ends.
        var drained: [Int] = []
        for await message in messages { drained.append(MQTTTest.sequence(message)) }
        #expect(drained.count >= 2)
        #expect(drained == Array(0..<drained.count))
        await publisher.disconnect()
    }
}
