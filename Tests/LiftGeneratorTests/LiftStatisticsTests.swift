import DTPMQTT
import DTPTwinStack
import Foundation
import Testing

@testable import LiftGenerator

/// The vibration model over 10,000 seeded ticks: the formula, the spike rate, and the alert rule.
@Suite struct LiftStatisticsTests {
    static let ticks = 10_000

    private func run(seed: UInt64, threshold: Double = 2.0) -> [LiftTick] {
        var twin = LiftTwin(
            simulation: LiftSimulation(seed: seed), liftID: "lift-001", telemetryTopic: "t", alertTopic: "a")
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        return (0..<Self.ticks).map { index in
            twin.tick(at: start.addingTimeInterval(Double(index)), t: Double(index), threshold: threshold)
        }
    }

    @Test func rmsMeanAndSpreadMatchTheFormula() {
        let ticks = run(seed: 42)
        // Without spikes, RMS − (1 + 0.5·sin(t/3)) is the N(0, 0.1) noise (give or take the rounding).
        let residuals = ticks.filter { $0.reading.spike == nil }.map { $0.reading.rms - (1 + 0.5 * sin($0.reading.t / 3)) }
        let mean = residuals.reduce(0, +) / Double(residuals.count)
        let sd = (residuals.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(residuals.count - 1)).squareRoot()
        #expect(abs(mean) < 0.005, "noise mean \(mean)")
        #expect(abs(sd - 0.1) < 0.005, "noise sd \(sd)")
        // The overall mean is the baseline's mean plus 2% of the spikes' mean (1.75).
        let baseline = ticks.map { 1 + 0.5 * sin($0.reading.t / 3) }.reduce(0, +) / Double(ticks.count)
        let overall = ticks.map(\.reading.rms).reduce(0, +) / Double(ticks.count)
        #expect(abs(overall - (baseline + 0.02 * 1.75)) < 0.015, "mean \(overall), baseline \(baseline)")
        #expect(ticks.allSatisfy { $0.reading.rms >= 0 })
    }

    @Test func spikesHappenAboutTwoPercentOfTicksWithinTheirRange() {
        let ticks = run(seed: 7)
        let spikes = ticks.compactMap(\.reading.spike)
        let rate = Double(spikes.count) / Double(ticks.count)
        // Binomial(10,000, 0.02) has a standard deviation of 0.0014; four of them is 0.0056.
        #expect(abs(rate - 0.02) < 0.0056, "spike rate \(rate)")
        #expect(spikes.allSatisfy { (1.0...2.5).contains($0) })
        let mean = spikes.reduce(0, +) / Double(spikes.count)
        #expect(abs(mean - 1.75) < 0.15, "spike mean \(mean)")
    }

    @Test func anAlertIsSentIfAndOnlyIfRMSReachesTheThreshold() throws {
        for threshold in [1.2, 2.0, 2.6] {
            let ticks = run(seed: 99, threshold: threshold)
            var alerts = 0
            for tick in ticks {
                let alertMessages = tick.messages.filter { $0.topic == "a" }
                if tick.telemetry.rms >= threshold {
                    alerts += 1
                    #expect(alertMessages.count == 1)
                    let alert = try JSONDecoder().decode(VibrationAlert.self, from: Data(try #require(alertMessages.first).payload))
                    #expect(alert.rms == tick.telemetry.rms && alert.threshold == threshold && alert.ts == tick.telemetry.ts)
                    #expect(alertMessages.first?.qos == .atLeastOnce)
                } else {
                    #expect(alertMessages.isEmpty)
                }
                #expect(tick.messages.first?.topic == "t" && tick.messages.first?.qos == .atMostOnce)
            }
            // Each threshold is crossed a plausible, non-trivial number of times.
            #expect(alerts > 0 && alerts < ticks.count)
        }
    }

    @Test func aSeedMakesTheRunRepeat() {
        #expect(run(seed: 5).map(\.reading) == run(seed: 5).map(\.reading))
        #expect(run(seed: 5).map(\.reading) != run(seed: 6).map(\.reading))
    }
}
