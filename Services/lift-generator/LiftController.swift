import DTPMQTT
import DTPServiceKit
import DTPTwinStack
import Hummingbird

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The Lift UI and its JSON API, as the earlier UI had it, plus the threshold and status calls.
struct LiftController<Context: RequestContext>: Sendable {
    let stack: LiftStack

    struct ThresholdBody: Decodable {
        var threshold: Double?
        var value: Double?
    }

    struct ThresholdAnswer: Encodable {
        var threshold: Double
    }

    struct TriggerAnswer: Encodable {
        var ok: Bool
        var alert: VibrationAlert
    }

    struct Status: Encodable {
        var lift_id: String
        var threshold: Double
        var ticks: Int
        var last: LiftTelemetry?
        var mqtt_connected: Bool
        var mqtt: TwinPublisher.Statistics
        var influx_local: Bool
        var influx_central: Bool
        var interval_sec: Double
        var telemetry_topic: String
        var alert_topic: String
    }

    func addRoutes(to router: Router<Context>) {
        TwinStackAssets.addRoutes(to: router)
        router.get("/") { _, _ in TwinStackAssets.html(LiftPage.html) }
        router.get("api/vibration") { request, _ in
            TwinAPI.json(try await stack.vibration(minutes: try TwinAPI.minutes(request)))
        }
        router.get("api/alerts") { request, _ in
            TwinAPI.json(try await stack.alerts(minutes: try TwinAPI.minutes(request)))
        }
        router.get("api/threshold") { _, _ in TwinAPI.json(ThresholdAnswer(threshold: stack.threshold)) }
        router.post("api/threshold") { request, context in
            let body = try await TwinAPI.decode(ThresholdBody.self, from: request, context: context)
            guard let value = body.threshold ?? body.value else {
                throw APIError.badRequest("threshold is required")
            }
            try stack.setThreshold(value)
            return TwinAPI.json(ThresholdAnswer(threshold: value))
        }
        router.post("api/trigger_alert") { _, _ in
            TwinAPI.json(TriggerAnswer(ok: true, alert: stack.triggerAlert()), status: .accepted)
        }
        router.get("api/status") { _, _ in
            let configuration = stack.configuration
            return TwinAPI.json(
                Status(
                    lift_id: configuration.liftID, threshold: stack.threshold, ticks: stack.tickCount,
                    last: stack.last, mqtt_connected: stack.publisher.client.isConnected,
                    mqtt: stack.publisher.statistics, influx_local: stack.sink.local != nil,
                    influx_central: stack.sink.central != nil, interval_sec: configuration.interval.seconds,
                    telemetry_topic: configuration.telemetryTopic, alert_topic: configuration.alertTopic))
        }
    }
}
