import DTPMQTT
import DTPTwinStack
import Foundation
import Testing

@testable import HVACGenerator

/// The HVAC model over 10,000 seeded ticks: switching, power, energy, cost and the room.
@Suite struct HVACStatisticsTests {
    static let ticks = 10_000

    private func run(seed: UInt64, rate: Double = 0.25) -> [HVACTick] {
        var twin = HVACTwin(simulation: HVACSimulation(seed: seed, rate: rate), site: "site-a", eventTopic: "e")
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        return (0..<Self.ticks).map { twin.tick(at: start.addingTimeInterval(Double($0)), seconds: 1) }
    }

    @Test func theStateSwitchesOnAboutFivePercentOfTicksAndEachSwitchIsAnEvent() throws {
        let ticks = run(seed: 11)
        var previous = HVACState.idle
        var switches = 0
        for tick in ticks {
            let changed = tick.reading.state != previous
            if changed { switches += 1 }
            #expect((tick.event != nil) == changed)
            #expect(tick.messages.filter { $0.qos == .atLeastOnce }.count == (changed ? 1 : 0))
            if let event = tick.event { #expect(event.state == tick.reading.state.rawValue) }
            previous = tick.reading.state
        }
        let rate = Double(switches) / Double(ticks.count)
        // Binomial(10,000, 0.05): standard deviation 0.0022; four of them is 0.0087.
        #expect(abs(rate - 0.05) < 0.0087, "switch rate \(rate)")
        // Every state is visited.
        #expect(Set(ticks.map(\.reading.state)) == Set(HVACState.allCases))
    }

    @Test func powerFollowsTheStateAndCostIsEnergyTimesRate() {
        for rate in [0.25, 0.4] {
            let ticks = run(seed: 12, rate: rate)
            for state in HVACState.allCases {
                let kw = ticks.filter { $0.reading.state == state }.map(\.reading.kw)
                let mean = kw.reduce(0, +) / Double(kw.count)
                #expect(abs(mean - (10 + state.extraPower)) < 0.1, "\(state) mean \(mean)")
            }
            for tick in ticks {
                // kWh = kW / 60 to 4 decimals; cost = kWh × rate to 6 decimals.
                #expect(abs(tick.status.kwh - tick.status.kw / 60) <= 0.00005 + 1e-12)
                #expect(abs(tick.status.cost - tick.status.kwh * rate) <= 0.0000005 + 1e-12)
            }
        }
    }

    @Test func theRoomWarmsWhileIdleAndCoolsWhileCooling() {
        var simulation = HVACSimulation(seed: 13, rate: 0.25)
        var idleDeltas: [Double] = []
        var coolingDeltas: [Double] = []
        var before = simulation.temperature
        for _ in 0..<Self.ticks {
            let reading = simulation.tick(seconds: 1)
            let delta = reading.temperature - before
            if reading.state == .idle && before < 26 { idleDeltas.append(delta) }
            if reading.state == .cooling && before > 18 { coolingDeltas.append(delta) }
            before = reading.temperature
        }
        #expect(idleDeltas.reduce(0, +) / Double(idleDeltas.count) > 0)
        #expect(coolingDeltas.reduce(0, +) / Double(coolingDeltas.count) < 0)
    }
}
