import DTPServiceKit
import DTPTwinStack

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The Energy & HVAC generator's settings, read once from the environment (and the command line).
struct HVACConfiguration: Sendable {
    /// Name, address, log level.
    var service: ServiceSettings
    /// Broker, InfluxDB, registry, state folder.
    var stack: TwinStackSettings
    /// `SITE_ID`.
    var site: String
    /// `ENERGY_RATE`, per kWh.
    var energyRate: Double
    /// `MQTT_TOPIC`: energy_status and hvac_event, as the earlier HVAC generator had it.
    var eventTopic: String
    /// `SIM_SENSOR_TOPIC`: the room sensor's topic. The earlier simulator read it from `MQTT_TOPIC`,
    /// which the earlier HVAC generator used for its events; one process cannot honour both.
    var sensorTopic: String
    /// `SIM_SIGNAL_NAME`.
    var signalName: String
    /// `SIM_SIGNAL_UNIT`.
    var signalUnit: String
    /// `PUBLISH_INTERVAL_SEC`: between sensor readings.
    var sensorInterval: Duration
    /// Tick, seed, twin and queue.
    var simulation: SimulationSettings
    /// The tick.
    var interval: Duration { simulation.interval }
    /// The seed of a deterministic run.
    var seed: UInt64? { simulation.seed }
    /// The twin the generator registers as.
    var twinRef: String { simulation.twinRef }
    /// QoS 1 events held while the broker is away.
    var queueCapacity: Int { simulation.queueCapacity }

    static let defaultPort = 3002

    /// Reads every setting; problems are collected in `reader` for one report.
    init(reader: inout ConfigReader, seed: UInt64? = nil, interval: Double? = nil) {
        service = ServiceSettings(name: "hvac", defaultPort: Self.defaultPort, reader: &reader)
        stack = TwinStackSettings(service: "hvac", port: service.port, reader: &reader)
        site = reader.string("SITE_ID", default: "site-a")
        energyRate = reader.double("ENERGY_RATE", default: 0.25, in: 0...1000)
        eventTopic = reader.string("MQTT_TOPIC", default: "dtp/energy_hvac/events")
        sensorTopic = reader.string("SIM_SENSOR_TOPIC", default: "dtp/sensors/room1/temp")
        signalName = reader.string("SIM_SIGNAL_NAME", default: "temp_room_1")
        signalUnit = reader.string("SIM_SIGNAL_UNIT", default: "C")
        sensorInterval = reader.seconds("PUBLISH_INTERVAL_SEC", default: .seconds(5))
        simulation = SimulationSettings(
            reader: &reader, seed: seed, interval: interval, defaultTwinRef: "dt:EnergyHVAC_001")
    }
}
