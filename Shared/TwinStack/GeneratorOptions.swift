import ArgumentParser
import DTPMQTT
import DTPServiceKit
import Logging

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The command-line options both generators share.
public struct GeneratorOptions: ParsableArguments, Sendable {
    /// Makes a run repeat exactly.
    @Option(help: "Seed the simulation so that a run repeats exactly.")
    public var seed: UInt64?

    /// Seconds between ticks.
    @Option(help: "Seconds between ticks (default 1, or TICK_INTERVAL_SEC).")
    public var interval: Double?

    /// Fleet mode: how many lifts or sites to simulate.
    @Option(help: "Fleet mode: simulate this many lifts or sites, publish, report the achieved rate, exit.")
    public var fleet: Int?

    /// Fleet mode: the total message rate.
    @Option(help: "Fleet mode: total message rate, such as 20000/s (default 1000/s).")
    public var rate: String = "1000/s"

    /// Fleet mode: how long to publish.
    @Option(help: "Fleet mode: seconds to publish (default 10).")
    public var duration: Double = 10

    /// Fleet mode: the QoS of the periodic messages.
    @Option(name: .customLong("fleet-qos"), help: "Fleet mode: QoS of the periodic messages, 0 or 1 (default 0).")
    public var fleetQoS: Int = 0

    /// Options as parsed by ArgumentParser.
    public init() {}

    /// The fleet run these options ask for, with `reader`'s problems (and the options') reported at once.
    public func fleetPlan(size: Int, reader: inout ConfigReader) throws -> FleetPlan {
        if size < 1 { reader.report("--fleet", "must be at least 1") }
        let parsedRate = FleetRunner.parseRate(rate)
        if parsedRate == nil { reader.report("--rate", "\"\(rate)\" is not a rate such as 20000/s") }
        if !(duration > 0) { reader.report("--duration", "must be a positive number of seconds") }
        let qos: MQTTQoS = fleetQoS == 1 ? .atLeastOnce : .atMostOnce
        if fleetQoS != 0 && fleetQoS != 1 { reader.report("--fleet-qos", "must be 0 or 1") }
        try reader.finish()
        return FleetPlan(
            size: size, rate: parsedRate ?? 1, duration: .milliseconds(Int64(duration * 1000)), qos: qos)
    }
}

/// A fleet-mode run: how many members, at what total rate, for how long, at which QoS.
public struct FleetPlan: Sendable {
    /// Members simulated.
    public var size: Int
    /// Total messages per second.
    public var rate: Double
    /// How long to publish.
    public var duration: Duration
    /// The QoS of the periodic messages.
    public var qos: MQTTQoS

    /// A plan.
    public init(size: Int, rate: Double, duration: Duration, qos: MQTTQoS) {
        self.size = size
        self.rate = rate
        self.duration = duration
        self.qos = qos
    }

    /// Connects a publisher sized for the run, runs the fleet, and disconnects.
    public func run(
        mqtt: MQTTConfiguration, logger: Logger, source: inout some FleetSource
    ) async throws -> FleetRunner.Report {
        let planned = Int(min(rate * duration.seconds * 2, 5_000_000))
        let publisher = try TwinPublisher(
            configuration: mqtt, queueCapacity: max(10_000, planned), qos0Capacity: max(10_000, planned),
            window: 256, drainTimeout: .seconds(30), logger: logger)
        let running = Task { try await publisher.run() }
        defer { running.cancel() }
        guard await publisher.waitForConnection(within: .seconds(30)) else {
            throw FleetError(description: "could not connect to the MQTT broker at \(mqtt.host):\(mqtt.port)")
        }
        let report = await FleetRunner.run(
            fleet: size, rate: rate, duration: duration, publisher: publisher, source: &source)
        running.cancel()
        _ = try? await running.value
        return report
    }
}

/// Fleet mode could not run.
public struct FleetError: Error, CustomStringConvertible {
    /// What went wrong.
    public var description: String
}
