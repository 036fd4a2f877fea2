import DTPMQTT
import DTPTestSupport
import Foundation
import Testing

/// Restarts a scratch broker of its own (persistence on, DTP's config), never the shared one.
@Suite struct MQTTReconnectTests {
    @Test func reconnectsAfterBrokerRestartAndPersistentSessionKeepsWhatWasSentWhileAway() async throws {
        let name = "mqtt-test-\(UUID().uuidString.prefix(8))"
        let port = TestPorts.free()
        try await MQTTTest.scratchBroker(name: name, port: port, .start)
        do {
            try await run(name: name, port: port)
        } catch {
            try? await MQTTTest.scratchBroker(name: name, port: port, .stop)
            throw error
        }
        try await MQTTTest.scratchBroker(name: name, port: port, .stop)
        MQTTTest.removeScratchBroker(name: name)
    }

    private func configuration(port: Int, clientID: String, session: MQTTConfiguration.Session) -> MQTTConfiguration {
        MQTTConfiguration(
            host: "127.0.0.1", port: port, clientID: clientID, keepalive: 10, session: session,
            reconnectDelayMin: .seconds(1), reconnectDelayMax: .seconds(2))
    }

    private func run(name: String, port: Int) async throws {
        let topic = "dtp-test/reconnect/\(UUID().uuidString)"
        let persistentID = "test-persistent-\(UUID().uuidString)"
        let persistent = try MQTTClient(
            configuration: configuration(
                port: port, clientID: persistentID, session: .persistent(expiry: .seconds(300))))
        try await persistent.connect()
        try await persistent.subscribe(to: topic, qos: .atLeastOnce)
        // A clean-start client loses its subscriptions with the connection; the client must subscribe again.
        let clean = try MQTTClient(
            configuration: configuration(port: port, clientID: "test-clean-\(UUID().uuidString)", session: .cleanStart))
        try await clean.connect()
        try await clean.subscribe(to: topic, qos: .atLeastOnce)

        // Restart the broker under both clients: they reconnect on their own.
        let persistentStates = persistent.connectionStateChanges()
        try await MQTTTest.scratchBroker(name: name, port: port, .restart)
        var sawReconnecting = false
        for await state in persistentStates {
            if state == .reconnecting { sawReconnecting = true }
            if sawReconnecting && state == .connected { break }
        }
        #expect(sawReconnecting)
        try await MQTTTest.waitFor(.connected, of: persistent)
        try await MQTTTest.waitFor(.connected, of: clean)

        let publisher = try MQTTClient(
            configuration: configuration(port: port, clientID: "test-pub-\(UUID().uuidString)", session: .cleanStart))
        try await publisher.connect()
        // The clean client's re-subscription races with the publisher: probe until it is in place.
        var probes = 0
        var probed = false
        while probes < 50 && !probed {
            try await publisher.publish("probe-\(probes)", to: topic)
            probes += 1
            probed = await !MQTTTest.collect(1, from: clean, within: 0.2).isEmpty
        }
        #expect(probed, "the clean-start client did not subscribe again after the restart")

        // The persistent subscription survived the restart (persisted session): it gets the probes and then
        // live messages.
        try await MQTTDeliveryTests.publishSequence(20, to: topic, from: publisher)
        let live = await MQTTTest.collect(probes + 20, from: persistent, within: 20)
            .filter { !$0.payloadString.hasPrefix("probe") }
        #expect(live.map(MQTTTest.sequence) == Array(0..<20))

        // The persistent subscriber goes away; what is published meanwhile waits in its session, across
        // another broker restart.
        await persistent.disconnect()
        let missed = 200
        try await MQTTDeliveryTests.publishSequence(missed, to: topic, from: publisher)
        await publisher.disconnect()
        await clean.disconnect()
        try await MQTTTest.scratchBroker(name: name, port: port, .restart)

        // The same client id comes back without subscribing: the session delivers everything, in order.
        let returning = try MQTTClient(
            configuration: configuration(
                port: port, clientID: persistentID, session: .persistent(expiry: .seconds(300))))
        try await returning.connect()
        let received = await MQTTTest.collect(missed, from: returning, within: 30).map(MQTTTest.sequence)
        #expect(received == Array(0..<missed), "received \(received.count) of \(missed)")
        #expect(returning.subscriptions.isEmpty)

        // End the session so the scratch broker holds nothing of this test.
        await returning.disconnect()
        let cleanup = try MQTTClient(
            configuration: configuration(port: port, clientID: persistentID, session: .cleanStart))
        try await cleanup.connect()
        await cleanup.disconnect()
    }
}
