import DTPEssentials
import DTPMQTT
import DTPTwinStack

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What one tick of the Lift produces.
struct LiftTick: Sendable {
    var reading: LiftReading
    var telemetry: LiftTelemetry
    /// Present if and only if RMS ≥ threshold.
    var alert: VibrationAlert?
    var messages: [OutboundMessage]
}

/// The Lift twin's tick without any I/O: the simulation, the threshold decision and the payloads.
struct LiftTwin: Sendable {
    var simulation: LiftSimulation
    var liftID: String
    var telemetryTopic: String
    var alertTopic: String

    /// The tick at `date`, `t` simulated seconds after the start, against `threshold`.
    mutating func tick(at date: Date, t: Double, threshold: Double) -> LiftTick {
        let reading = simulation.reading(at: t)
        let ts = TwinTimestamp.string(date)
        let telemetry = LiftTelemetry(lift_id: liftID, rms: reading.rms, ts: ts)
        var messages = [OutboundMessage(topic: telemetryTopic, json: telemetry, qos: .atMostOnce)]
        var alert: VibrationAlert?
        if reading.rms >= threshold {
            let made = VibrationAlert(lift_id: liftID, rms: reading.rms, threshold: threshold, ts: ts)
            messages.append(OutboundMessage(topic: alertTopic, json: made, qos: .atLeastOnce))
            alert = made
        }
        return LiftTick(reading: reading, telemetry: telemetry, alert: alert, messages: messages)
    }
}

/// Fleet mode: `count` lifts (`lift-0001`…), each with its own seeded simulation.
struct LiftFleet: FleetSource {
    var twins: [LiftTwin]
    var ticks: [Int]
    let threshold: Double
    let qos: MQTTQoS
    let interval: Double

    init(count: Int, seed: UInt64?, threshold: Double, qos: MQTTQoS, interval: Double, configuration: LiftConfiguration) {
        twins = (0..<count).map { index in
            LiftTwin(
                simulation: LiftSimulation(seed: seed.map { $0 &+ UInt64(index) }),
                liftID: "lift-" + (index + 1).zeroPadded(to: 4), telemetryTopic: configuration.telemetryTopic,
                alertTopic: configuration.alertTopic)
        }
        ticks = Array(repeating: 0, count: count)
        self.threshold = threshold
        self.qos = qos
        self.interval = interval
    }

    mutating func messages(member index: Int, at date: Date) -> [OutboundMessage] {
        let t = Double(ticks[index]) * interval
        ticks[index] += 1
        var messages = twins[index].tick(at: date, t: t, threshold: threshold).messages
        messages[0].qos = qos
        return messages
    }
}
