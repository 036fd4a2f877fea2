import DTPServiceKit
import DTPTwinStack

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The Lift generator's settings, read once from the environment (and the command line).
struct LiftConfiguration: Sendable {
    /// Name, address, log level.
    var service: ServiceSettings
    /// Broker, InfluxDB, registry, state folder.
    var stack: TwinStackSettings
    /// `LIFT_ID`.
    var liftID: String
    /// `VIB_THRESHOLD`: the threshold until one is set through the API (then the state file wins).
    var defaultThreshold: Double
    /// `MQTT_TELEMETRY_TOPIC`.
    var telemetryTopic: String
    /// `MQTT_ALERT_TOPIC`.
    var alertTopic: String
    /// Tick, seed, twin and queue.
    var simulation: SimulationSettings
    /// The tick.
    var interval: Duration { simulation.interval }
    /// The seed of a deterministic run.
    var seed: UInt64? { simulation.seed }
    /// The twin the generator registers as.
    var twinRef: String { simulation.twinRef }
    /// QoS 1 alerts held while the broker is away.
    var queueCapacity: Int { simulation.queueCapacity }

    static let defaultPort = 3001

    /// Reads every setting; problems are collected in `reader` for one report.
    init(reader: inout ConfigReader, seed: UInt64? = nil, interval: Double? = nil) {
        service = ServiceSettings(name: "lift", defaultPort: Self.defaultPort, reader: &reader)
        stack = TwinStackSettings(service: "lift", port: service.port, reader: &reader)
        liftID = reader.string("LIFT_ID", default: "lift-001")
        defaultThreshold = reader.double("VIB_THRESHOLD", default: 2.0, in: 0...1000)
        telemetryTopic = reader.string("MQTT_TELEMETRY_TOPIC", default: "dtp/lift/telemetry")
        alertTopic = reader.string("MQTT_ALERT_TOPIC", default: "dtp/lift/alerts")
        simulation = SimulationSettings(
            reader: &reader, seed: seed, interval: interval, defaultTwinRef: "dt:Lift_001")
    }
}
