#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `energy_status` on the events topic every tick, QoS 0, in the earlier system's shape.
struct EnergyStatus: Codable, Sendable, Equatable {
    var type: String = "energy_status"
    var site: String
    var hvac_state: String
    var kw: Double
    var kwh: Double
    var cost: Double
    var ts: String
    var source: String = "energy-hvac-twin"
}

/// `hvac_event` on the events topic when the state changes, QoS 1.
struct HVACEvent: Codable, Sendable, Equatable {
    var type: String = "hvac_event"
    var site: String
    var state: String
    var ts: String
    var source: String = "energy-hvac-twin"
}

/// The earlier MQTT simulator's sensor reading on `dtp/sensors/room1/temp`.
struct SensorReading: Codable, Sendable, Equatable {
    var signal_id: String
    var name: String
    var unit: String
    var value: Double
    var ts: String
    var source: String = "sim-publisher"
}

/// One point of `GET /api/energy`.
struct EnergyPoint: Codable, Sendable, Equatable {
    var ts: String
    var kw: Double
    var kwh: Double
    var hvac_state: String
}

/// One point of `GET /api/cost`.
struct CostPoint: Codable, Sendable, Equatable {
    var ts: String
    var cost: Double
}

/// One point of `GET /api/temperature`.
struct TemperaturePoint: Codable, Sendable, Equatable {
    var ts: String
    var value: Double
}
