import DTPTwinStack

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// One tick's vibration, with its parts kept apart so the statistics tests can check the formula.
struct LiftReading: Sendable, Equatable {
    /// Simulated seconds since the start.
    var t: Double
    /// `1.0 + 0.5·sin(t/3)`.
    var baseline: Double
    /// The N(0, 0.1) noise.
    var noise: Double
    /// The U(1.0, 2.5) spike, on about 2% of ticks.
    var spike: Double?
    /// The published RMS: the sum, floored at 0, rounded to 3 decimals.
    var rms: Double
}

/// The Lift's vibration model: pure and seedable, so a seeded run repeats exactly.
///
/// RMS = 1.0 + 0.5·sin(t/3) + N(0, 0.1), plus a spike of U(1.0, 2.5) with 2% probability, floored at 0.
struct LiftSimulation: Sendable {
    static let spikeProbability = 0.02
    static let spikeRange = 1.0...2.5
    static let noiseStandardDeviation = 0.1

    private var random: SeededRandom

    /// A simulation seeded with `seed`, or from the system when nil.
    init(seed: UInt64?) {
        random = seed.map { SeededRandom(seed: $0) } ?? SeededRandom()
    }

    /// The reading at simulated time `t` (seconds since the start).
    mutating func reading(at t: Double) -> LiftReading {
        let baseline = 1.0 + 0.5 * sin(t / 3)
        let noise = random.gaussian(mean: 0, standardDeviation: Self.noiseStandardDeviation)
        let spike = random.chance(Self.spikeProbability) ? random.uniform(Self.spikeRange) : nil
        let rms = max(0, baseline + noise + (spike ?? 0)).rounded(toPlaces: 3)
        return LiftReading(t: t, baseline: baseline, noise: noise, spike: spike, rms: rms)
    }
}
