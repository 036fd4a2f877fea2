import DTPHTTP
import DTPInfluxDB
import DTPTestSupport
import DTPTwinStackTestSupport
import DTPTwinStack
import Foundation
import Testing

@testable import LiftGenerator

/// The Lift app with its own InfluxDB and a central one, both real 1.x databases without a token.
@Suite struct LiftInfluxTests {
    @Test func vibrationAndAlertsLandInTheStacksInfluxDBAndOnlyAlertsAreMirrored() async throws {
        try await TwinStackInflux.with(http: LiftTest.http) { influx in
            let broker = try LiftTest.brokerURL
            let liftID = "lift-influx-\(UUID().uuidString.prefix(8).lowercased())"
            let (environment, telemetryTopic, alertTopic) = LiftTest.environment(
                brokerURL: broker,
                extra: influx.environment.merging(["VIB_THRESHOLD": "1.2", "LIFT_ID": liftID]) { $1 })
            let collector = try await Collector(brokerURL: broker, topics: [telemetryTopic, alertTopic])
            defer { Task { await collector.close() } }
            let lift = try await RunningLift.start(environment)
            #expect(lift.stack.sink.local?.configuration.api == .v1)
            #expect(lift.stack.sink.central?.configuration.api == .v1)
            try await Wait.until("telemetry and alerts", within: 60) {
                collector.decoded(LiftTelemetry.self, on: telemetryTopic).count >= 20
                    && collector.decoded(VibrationAlert.self, on: alertTopic).count >= 2
            }
            let triggered = try await LiftTest.http.execute(
                DTPHTTP.HTTPRequest(method: .post, url: lift.baseURL + "/api/trigger_alert"))
            let manual = try JSONDecoder().decode(LiftEndToEndTests.Triggered.self, from: triggered.body).alert
            try await Wait.until("the manual alert on MQTT", within: 30) {
                collector.decoded(VibrationAlert.self, on: alertTopic).contains(manual)
            }
            let seen = collector.decoded(LiftTelemetry.self, on: telemetryTopic)
            let seenAlerts = collector.decoded(VibrationAlert.self, on: alertTopic)

            // The sink flushes once a second: wait until what a subscriber saw is stored.
            let vibrationQuery = "SELECT \"rms\" FROM \"vibration\" WHERE \"lift_id\" = \(InfluxQL.string(liftID))"
            let alertQuery =
                "SELECT \"rms\", \"threshold\" FROM \"alert\" WHERE \"lift_id\" = \(InfluxQL.string(liftID))"
            try await Wait.until("the seen ticks and alerts in the stack's InfluxDB", within: 60) {
                let ticks = (try? await TwinStackInflux.rows(influx.local, vibrationQuery)) ?? []
                let alerts = (try? await TwinStackInflux.rows(influx.local, alertQuery)) ?? []
                let tickTimes = Set(ticks.compactMap(TwinTimestamp.string))
                let alertTimes = Set(alerts.compactMap(TwinTimestamp.string))
                return seen.allSatisfy { tickTimes.contains($0.ts) } && seenAlerts.allSatisfy { alertTimes.contains($0.ts) }
            }

            // Points that only InfluxDB holds: the API shows them, so it reads InfluxDB, not its memory.
            let now = Date()
            let extraTick = VibrationPoint(ts: TwinTimestamp.string(now.addingTimeInterval(-90)), rms: 42.125)
            let extraAlert = VibrationAlert(
                lift_id: liftID, rms: 43.5, threshold: 40, ts: TwinTimestamp.string(now.addingTimeInterval(-80)))
            func vibration(_ lift: String, _ rms: Double, secondsAgo: Double) -> InfluxPoint {
                InfluxPoint(
                    measurement: "vibration", tags: ["lift_id": lift], fields: [("rms", .float(rms))],
                    timestamp: TwinTimestamp.influxTimestamp(now.addingTimeInterval(-secondsAgo)))
            }
            try await influx.local.write([
                vibration(liftID, 42.125, secondsAgo: 90),
                vibration("another-lift", 77, secondsAgo: 70),  // another lift: not this stack's
                vibration(liftID, 55, secondsAgo: 600),  // outside `mins=5`
                InfluxPoint(
                    measurement: "alert", tags: ["lift_id": liftID], fields: [("rms", .float(43.5)), ("threshold", .float(40))],
                    timestamp: TwinTimestamp.influxTimestamp(now.addingTimeInterval(-80))),
            ])
            let points = try await LiftTest.get(lift.baseURL + "/api/vibration?mins=5", as: [VibrationPoint].self)
            let alerts = try await LiftTest.get(lift.baseURL + "/api/alerts?mins=5", as: [VibrationAlert].self)
            let wider = try await LiftTest.get(lift.baseURL + "/api/vibration?mins=15", as: [VibrationPoint].self)
            await lift.stop()

            #expect(points.contains(extraTick))
            #expect(!points.contains { $0.rms == 77 || $0.rms == 55 })
            #expect(wider.contains { $0.rms == 55 })
            let byTime = Dictionary(points.map { ($0.ts, $0.rms) }, uniquingKeysWith: { first, _ in first })
            for tick in seen { #expect(byTime[tick.ts] == tick.rms, "tick \(tick.ts) missing or different") }
            #expect(points.map(\.ts) == points.map(\.ts).sorted())
            #expect(alerts.contains(extraAlert))
            for alert in seenAlerts { #expect(alerts.contains(alert), "alert \(alert.ts) missing or different") }
            #expect(alerts.contains(manual))

            // The stack created its own database, with the documented measurements, tags and fields.
            #expect(try await influx.databases().contains(influx.local.configuration.database))
            #expect(try await TwinStackInflux.measurements(influx.local) == ["vibration", "alert"])
            let vibrationSchema = try await TwinStackInflux.schema(influx.local, "vibration")
            #expect(vibrationSchema.fields == ["rms": "float"])
            #expect(vibrationSchema.tags == ["lift_id"])
            let alertSchema = try await TwinStackInflux.schema(influx.local, "alert")
            #expect(alertSchema.fields == ["rms": "float", "threshold": "float"])
            #expect(alertSchema.tags == ["lift_id"])

            // The central database holds the alerts, all of them (the final flush ran at shutdown) and
            // nothing else; the extra alert was written to the stack's database only.
            func described(_ rows: [InfluxRow]) -> Set<String> {
                Set(rows.map { "\(TwinTimestamp.string($0) ?? "?") \($0.double("rms") ?? -1) \($0.double("threshold") ?? -1)" })
            }
            let localAlerts = described(try await TwinStackInflux.rows(influx.local, alertQuery))
            let centralAlerts = described(try await TwinStackInflux.rows(influx.central, alertQuery))
            #expect(try await TwinStackInflux.measurements(influx.central) == ["alert"])
            #expect(centralAlerts == localAlerts.subtracting(["\(extraAlert.ts) 43.5 40.0"]))
            #expect(centralAlerts.count >= seenAlerts.count)
            for alert in seenAlerts { #expect(centralAlerts.contains("\(alert.ts) \(alert.rms) \(alert.threshold)")) }
            #expect(lift.stack.sink.droppedPoints == 0)
        }
    }
}
