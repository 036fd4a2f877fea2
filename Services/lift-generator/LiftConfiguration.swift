import DTPServiceKit
import DTPTwinStack
import Foundation

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
    /// `--interval` or `TICK_INTERVAL_SEC`.
    var interval: Duration
    /// `--seed` or `SIM_SEED`.
    var seed: UInt64?
    /// `DTP_TWIN_REF`.
    var twinRef: String
    /// `MQTT_QUEUE_CAPACITY`: QoS 1 alerts held while the broker is away.
    var queueCapacity: Int

    static let defaultPort = 3001

    /// Reads every setting; problems are collected in `reader` for one report.
    init(reader: inout ConfigReader, seed: UInt64? = nil, interval: Double? = nil) {
        service = ServiceSettings(name: "lift", defaultPort: Self.defaultPort, reader: &reader)
        stack = TwinStackSettings(service: "lift", port: service.port, reader: &reader)
        liftID = reader.string("LIFT_ID", default: "lift-001")
        defaultThreshold = reader.double("VIB_THRESHOLD", default: 2.0, in: 0...1000)
        telemetryTopic = reader.string("MQTT_TELEMETRY_TOPIC", default: "dtp/lift/telemetry")
        alertTopic = reader.string("MQTT_ALERT_TOPIC", default: "dtp/lift/alerts")
        let seconds = interval.map { Duration.milliseconds(Int64(($0 * 1000).rounded())) }
        self.interval = seconds ?? reader.seconds("TICK_INTERVAL_SEC", default: .seconds(1))
        if self.interval < .milliseconds(1) { reader.report("--interval", "must be at least 0.001 seconds") }
        if let seed {
            self.seed = seed
        } else if let text = reader.optionalString("SIM_SEED") {
            self.seed = UInt64(text)
            if self.seed == nil { reader.report("SIM_SEED", "\"\(text)\" is not a whole number") }
        }
        twinRef = reader.string("DTP_TWIN_REF", default: "dt:Lift_001")
        queueCapacity = reader.int("MQTT_QUEUE_CAPACITY", default: 10_000, in: 1...10_000_000)
    }
}
