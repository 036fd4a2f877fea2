import DTPMQTT
import DTPTestSupport
import DTPTwinStackTestSupport
import DTPTwinStack
import Foundation
import Testing

@testable import LiftGenerator

/// Restarts a scratch broker of its own (persistence on, DTP's config), never the shared one.
@Suite struct LiftBrokerRestartTests {
    @Test func aBrokerRestartLosesNoQoS1Alert() async throws {
        let name = "lift-test-\(UUID().uuidString.prefix(8).lowercased())"
        let port = TestPorts.free()
        try await DevServices.scratch(.mosquitto, name: name, port: port, .start)
        do {
            try await run(broker: "mqtt://127.0.0.1:\(port)", name: name, port: port)
        } catch {
            try? await DevServices.scratch(.mosquitto, name: name, port: port, .stop)
            throw error
        }
        try await DevServices.scratch(.mosquitto, name: name, port: port, .stop)
        DevServices.removeScratch(.mosquitto, name: name)
    }

    private func run(broker: String, name: String, port: Int) async throws {
        // Threshold 0: every tick publishes an alert, so the outage certainly has some.
        let (environment, _, alertTopic) = LiftTest.environment(
            brokerURL: broker, extra: ["VIB_THRESHOLD": "0", "MQTT_RECONNECT_MAX_SEC": "1"])
        // A persistent session keeps what arrives while the subscriber itself is reconnecting.
        let subscriberID = "test-lift-restart-\(UUID().uuidString)"
        let collector = try await Collector(
            brokerURL: broker, topics: [alertTopic], clientID: subscriberID, session: .persistent(expiry: .seconds(300)))
        let lift = try await RunningLift.start(environment)
        try await Wait.until("alerts before the restart", within: 60) {
            collector.decoded(VibrationAlert.self, on: alertTopic).count >= 5
        }
        let down = Date()
        try await DevServices.scratch(.mosquitto, name: name, port: port, .restart)
        let up = Date()
        try await Wait.until("the generator to reconnect", within: 60) { lift.stack.publisher.client.isConnected }
        let afterRestart = lift.stack.publisher.statistics.publishedQoS1
        try await Wait.until("alerts after the restart", within: 60) {
            lift.stack.publisher.statistics.publishedQoS1 >= afterRestart + 10
        }
        await lift.stop()

        let generated = lift.stack.alerts.elements(since: .distantPast).map(\.element)
        let duringOutage = generated.filter {
            guard let date = TwinTimestamp.date($0.ts) else { return false }
            return date > down && date < up
        }
        #expect(!duringOutage.isEmpty, "no alert was generated while the broker was down")
        try await Wait.until("every generated alert at the subscriber", within: 60) {
            Set(collector.decoded(VibrationAlert.self, on: alertTopic).map(\.ts)).isSuperset(of: generated.map(\.ts))
        }
        let statistics = lift.stack.publisher.statistics
        #expect(statistics.overflow == 0)
        #expect(statistics.queuedQoS1 == 0)
        await collector.close()
    }
}
