import DTPServiceKit

/// The settings every generator's simulation shares: its tick, its seed, its twin and its QoS 1 queue.
public struct SimulationSettings: Sendable {
    /// `--interval` or `TICK_INTERVAL_SEC`.
    public var interval: Duration
    /// `--seed` or `SIM_SEED`: a deterministic run when set.
    public var seed: UInt64?
    /// `DTP_TWIN_REF`: the twin the generator registers as.
    public var twinRef: String
    /// `MQTT_QUEUE_CAPACITY`: QoS 1 messages held while the broker is away.
    public var queueCapacity: Int

    /// Reads the settings, command-line values first; problems are collected in `reader`.
    public init(reader: inout ConfigReader, seed: UInt64?, interval: Double?, defaultTwinRef: String) {
        let seconds = interval.map { Duration.milliseconds(Int64(($0 * 1000).rounded())) }
        self.interval = seconds ?? reader.seconds("TICK_INTERVAL_SEC", default: .seconds(1))
        if self.interval < .milliseconds(1) { reader.report("--interval", "must be at least 0.001 seconds") }
        if let seed {
            self.seed = seed
        } else if let text = reader.optionalString("SIM_SEED") {
            self.seed = UInt64(text)
            if self.seed == nil { reader.report("SIM_SEED", "\"\(text)\" is not a whole number") }
        }
        twinRef = reader.string("DTP_TWIN_REF", default: defaultTwinRef)
        queueCapacity = reader.int("MQTT_QUEUE_CAPACITY", default: 10_000, in: 1...10_000_000)
    }
}
