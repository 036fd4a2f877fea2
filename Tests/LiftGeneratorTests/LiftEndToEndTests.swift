import DTPHTTP
import DTPMQTT
import DTPTestSupport
import DTPTwinStackTestSupport
import DTPTwinStack
import Foundation
import Testing

@testable import LiftGenerator

/// The Lift app against the shared Mosquitto: payloads, the threshold API and the JSON API.
@Suite struct LiftEndToEndTests {
    struct Threshold: Codable { var threshold: Double }
    struct Triggered: Decodable { var ok: Bool; var alert: VibrationAlert }

    @Test func alertsAndTelemetryReachASubscriberWithTheDocumentedPayloads() async throws {
        let broker = try LiftTest.brokerURL
        // A low threshold makes alerts frequent enough for a short test.
        let (environment, telemetryTopic, alertTopic) = LiftTest.environment(
            brokerURL: broker, extra: ["VIB_THRESHOLD": "1.2", "LIFT_ID": "lift-e2e"])
        let collector = try await Collector(brokerURL: broker, topics: [telemetryTopic, alertTopic])
        let lift = try await RunningLift.start(environment)
        defer { Task { await collector.close() } }
        try await Wait.until("telemetry and alerts", within: 60) {
            collector.decoded(LiftTelemetry.self, on: telemetryTopic).count >= 10
                && collector.decoded(VibrationAlert.self, on: alertTopic).count >= 2
        }
        await lift.stop()

        // Exactly the documented keys, no more.
        for message in collector.messages.prefix(40) {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(message.payload)) as? [String: Any])
            if message.topic == telemetryTopic {
                #expect(Set(object.keys) == ["lift_id", "rms", "ts"])
                #expect(message.qos == .atMostOnce)
            } else {
                #expect(Set(object.keys) == ["type", "lift_id", "rms", "threshold", "ts", "source"])
                #expect(object["type"] as? String == "vibration_alert")
                #expect(object["source"] as? String == "lift-twin")
                #expect(message.qos == .atLeastOnce)
            }
            #expect(object["lift_id"] as? String == "lift-e2e")
            #expect(TwinTimestamp.date(try #require(object["ts"] as? String)) != nil)
        }
        let telemetry = collector.decoded(LiftTelemetry.self, on: telemetryTopic)
        for alert in collector.decoded(VibrationAlert.self, on: alertTopic) {
            #expect(alert.rms >= alert.threshold && alert.threshold == 1.2)
            // The alert belongs to a tick whose telemetry carried the same RMS.
            if let tick = telemetry.first(where: { $0.ts == alert.ts }) { #expect(tick.rms == alert.rms) }
        }
        for tick in telemetry where tick.rms < 1.2 {
            #expect(!collector.decoded(VibrationAlert.self, on: alertTopic).contains { $0.ts == tick.ts })
        }
    }

    @Test func aThresholdChangeTakesEffectOnTheNextTickAndSurvivesARestart() async throws {
        let broker = try LiftTest.brokerURL
        let state = LiftTest.temporaryDirectory()
        let (environment, telemetryTopic, alertTopic) = LiftTest.environment(
            brokerURL: broker, stateDirectory: state, extra: ["VIB_THRESHOLD": "1000"])
        let collector = try await Collector(brokerURL: broker, topics: [telemetryTopic, alertTopic])
        defer { Task { await collector.close() } }
        let lift = try await RunningLift.start(environment)
        #expect(try await LiftTest.get(lift.baseURL + "/api/threshold", as: Threshold.self).threshold == 1000)

        // Threshold 0: every tick from now on alerts, since RMS is floored at 0.
        let answer: Threshold = try await LiftTest.http.json(
            .post, url: lift.baseURL + "/api/threshold", body: Threshold(threshold: 0), as: Threshold.self)
        let changed = Date()
        #expect(answer.threshold == 0)
        try await Wait.until("five ticks after the change", within: 60) {
            collector.decoded(LiftTelemetry.self, on: telemetryTopic)
                .filter { (TwinTimestamp.date($0.ts) ?? .distantPast) > changed }.count >= 5
        }
        let alerts = collector.decoded(VibrationAlert.self, on: alertTopic)
        try await Wait.until("the alerts of those ticks", within: 30) {
            let ticks = collector.decoded(LiftTelemetry.self, on: telemetryTopic)
                .filter { (TwinTimestamp.date($0.ts) ?? .distantPast) > changed }
            let alerts = Set(collector.decoded(VibrationAlert.self, on: alertTopic).map(\.ts))
            return ticks.allSatisfy { alerts.contains($0.ts) }
        }
        // Before the change the threshold was 1000: no alert at all.
        #expect(alerts.allSatisfy { $0.threshold == 0 })
        #expect(!collector.decoded(VibrationAlert.self, on: alertTopic).contains { $0.threshold == 1000 })
        await lift.stop()

        // The same state folder: the restarted app keeps threshold 0 although VIB_THRESHOLD says 1000.
        var again = environment
        again["DTP_HTTP_PORT"] = String(TestPorts.free())
        let restarted = try await RunningLift.start(again)
        #expect(try await LiftTest.get(restarted.baseURL + "/api/threshold", as: Threshold.self).threshold == 0)
        let before = collector.decoded(VibrationAlert.self, on: alertTopic).count
        try await Wait.until("alerts after the restart", within: 60) {
            collector.decoded(VibrationAlert.self, on: alertTopic).count >= before + 3
        }
        #expect(collector.decoded(VibrationAlert.self, on: alertTopic).allSatisfy { $0.threshold == 0 })
        // A bad threshold is refused with the API's error shape.
        let bad = try await LiftTest.http.execute(
            DTPHTTP.HTTPRequest(
                method: .post, url: restarted.baseURL + "/api/threshold", headers: ["Content-Type": "application/json"],
                body: Data(#"{"threshold": -1}"#.utf8)))
        #expect(bad.status == 400)
        await restarted.stop()
    }

    @Test func theJSONAPIReturnsThePointsThatWereGenerated() async throws {
        let broker = try LiftTest.brokerURL
        let (environment, telemetryTopic, alertTopic) = LiftTest.environment(
            brokerURL: broker, extra: ["VIB_THRESHOLD": "1.3"])
        let collector = try await Collector(brokerURL: broker, topics: [telemetryTopic, alertTopic])
        defer { Task { await collector.close() } }
        let lift = try await RunningLift.start(environment)
        try await Wait.until("ticks and alerts", within: 60) {
            collector.decoded(LiftTelemetry.self, on: telemetryTopic).count >= 20
                && collector.decoded(VibrationAlert.self, on: alertTopic).count >= 1
        }
        // A manual alert goes out and is listed too.
        let triggered = try await LiftTest.http.execute(
            DTPHTTP.HTTPRequest(method: .post, url: lift.baseURL + "/api/trigger_alert"))
        #expect(triggered.status == 202)
        let manual = try JSONDecoder().decode(Triggered.self, from: triggered.body).alert
        try await Wait.until("the manual alert on MQTT", within: 30) {
            collector.decoded(VibrationAlert.self, on: alertTopic).contains(manual)
        }

        // What a subscriber has seen so far was recorded before it was published, so the API holds it.
        let seen = collector.decoded(LiftTelemetry.self, on: telemetryTopic)
        let seenAlerts = collector.decoded(VibrationAlert.self, on: alertTopic)
        let points = try await LiftTest.get(lift.baseURL + "/api/vibration?mins=5", as: [VibrationPoint].self)
        let alerts = try await LiftTest.get(lift.baseURL + "/api/alerts?mins=5", as: [VibrationAlert].self)
        // `mins` is validated.
        let bad = try await LiftTest.http.execute(DTPHTTP.HTTPRequest(url: lift.baseURL + "/api/vibration?mins=0"))
        #expect(bad.status == 400)
        await lift.stop()
        // Every tick a subscriber saw is in the API, with the same value, in time order.
        let byTime = Dictionary(points.map { ($0.ts, $0.rms) }, uniquingKeysWith: { first, _ in first })
        #expect(seen.count >= 20)
        for tick in seen { #expect(byTime[tick.ts] == tick.rms, "tick \(tick.ts) missing or different") }
        #expect(points.map(\.ts) == points.map(\.ts).sorted())
        #expect(points.count >= seen.count)
        // Every alert a subscriber saw, the manual one included, is listed.
        for alert in seenAlerts { #expect(alerts.contains(alert)) }
        #expect(alerts.contains(manual))

    }
}
