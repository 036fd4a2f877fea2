#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `{lift_id, rms, ts}` on the telemetry topic, QoS 0.
struct LiftTelemetry: Codable, Sendable, Equatable {
    var lift_id: String
    var rms: Double
    var ts: String
}

/// The earlier system's alert on `dtp/lift/alerts`, QoS 1:
/// `{type: "vibration_alert", lift_id, rms, threshold, ts, source: "lift-twin"}`.
struct VibrationAlert: Codable, Sendable, Equatable {
    var type: String = "vibration_alert"
    var lift_id: String
    var rms: Double
    var threshold: Double
    var ts: String
    var source: String = "lift-twin"
}

/// One point of `GET /api/vibration`.
struct VibrationPoint: Codable, Sendable, Equatable {
    var ts: String
    var rms: Double
}
