import DTPMQTT
import DTPTestSupport
import DTPTwinStack
import Foundation
import Logging
import Testing

/// The publisher's bounded QoS 1 queue and its counters, with the broker away and then back.
@Suite struct TwinPublisherTests {
    @Test func queuesAlertsWhileTheBrokerIsDownCountsOverflowAndDeliversTheRestLater() async throws {
        let name = "twinstack-test-\(UUID().uuidString.prefix(8).lowercased())"
        let port = TestPorts.free()
        let configuration = MQTTConfiguration(
            host: "127.0.0.1", port: port, clientID: "test-pub-\(UUID().uuidString)", reconnectDelayMax: .seconds(1))
        let publisher = try TwinPublisher(
            configuration: configuration, queueCapacity: 5, window: 1, logger: Logger(label: "test"))
        let running = Task { try await publisher.run() }
        defer { running.cancel() }

        let topic = "dtp-test/twinstack/\(UUID().uuidString)"
        func alert(_ n: Int) -> OutboundMessage {
            OutboundMessage(topic: topic, payload: Array("alert-\(n)".utf8), qos: .atLeastOnce)
        }
        // The one worker takes the first alert and waits with it for the broker.
        #expect(publisher.send(alert(0)))
        try await waitFor { publisher.statistics.queuedQoS1 == 0 }
        var accepted = 0
        for n in 1...9 where publisher.send(alert(n)) { accepted += 1 }
        #expect(accepted == 5)
        // Telemetry is not kept for later.
        #expect(!publisher.send(OutboundMessage(topic: topic, payload: Array("t".utf8), qos: .atMostOnce)))
        var statistics = publisher.statistics
        #expect(statistics.overflow == 4)
        #expect(statistics.droppedQoS0 == 1)
        #expect(statistics.queuedQoS1 == 5)
        #expect(statistics.publishedQoS1 == 0)

        // The broker comes up: the publisher connects by itself and sends the six it kept.
        try await DevServices.scratch(.mosquitto, name: name, port: port, .start)
        do {
            try await waitFor(within: 60) { publisher.statistics.publishedQoS1 == 6 }
            statistics = publisher.statistics
            #expect(statistics.queuedQoS1 == 0)
            #expect(statistics.overflow == 4)
        } catch {
            try? await DevServices.scratch(.mosquitto, name: name, port: port, .stop)
            throw error
        }
        running.cancel()
        _ = try? await running.value
        try await DevServices.scratch(.mosquitto, name: name, port: port, .stop)
        DevServices.removeScratch(.mosquitto, name: name)
    }

    private func waitFor(within seconds: Double = 30, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw TimedOut() }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    struct TimedOut: Error {}
}
