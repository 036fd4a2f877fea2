import DTPEssentials
import DTPMQTT
import DTPTwinStack

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What one tick of the Energy & HVAC twin produces.
struct HVACTick: Sendable {
    var reading: HVACReading
    var status: EnergyStatus
    /// Present if and only if the state changed.
    var event: HVACEvent?
    var messages: [OutboundMessage]
}

/// The Energy & HVAC twin's tick without I/O.
struct HVACTwin: Sendable {
    var simulation: HVACSimulation
    var site: String
    var eventTopic: String

    mutating func tick(at date: Date, seconds: Double) -> HVACTick {
        let reading = simulation.tick(seconds: seconds)
        let ts = TwinTimestamp.string(date)
        let status = EnergyStatus(
            site: site, hvac_state: reading.state.rawValue, kw: reading.kw, kwh: reading.kwh, cost: reading.cost, ts: ts)
        var messages = [OutboundMessage(topic: eventTopic, json: status, qos: .atMostOnce)]
        var event: HVACEvent?
        if reading.previous != nil {
            let made = HVACEvent(site: site, state: reading.state.rawValue, ts: ts)
            messages.append(OutboundMessage(topic: eventTopic, json: made, qos: .atLeastOnce))
            event = made
        }
        return HVACTick(reading: reading, status: status, event: event, messages: messages)
    }
}

/// Fleet mode: `count` sites (`site-0001`…), each with its own seeded simulation.
struct HVACFleet: FleetSource {
    var twins: [HVACTwin]
    let qos: MQTTQoS
    let interval: Double

    init(count: Int, seed: UInt64?, qos: MQTTQoS, interval: Double, configuration: HVACConfiguration) {
        twins = (0..<count).map { index in
            HVACTwin(
                simulation: HVACSimulation(seed: seed.map { $0 &+ UInt64(index) }, rate: configuration.energyRate),
                site: "site-" + (index + 1).zeroPadded(to: 4), eventTopic: configuration.eventTopic)
        }
        self.qos = qos
        self.interval = interval
    }

    mutating func messages(member index: Int, at date: Date) -> [OutboundMessage] {
        var messages = twins[index].tick(at: date, seconds: interval).messages
        messages[0].qos = qos
        return messages
    }
}
