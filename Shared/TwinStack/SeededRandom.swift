#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// A small, fast, seedable random number generator (xoshiro256**, seeded through SplitMix64).
///
/// The simulations take their randomness from it, so `--seed` makes a run repeat exactly and the
/// statistics tests are deterministic. Unseeded runs seed it from the system generator.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)
    /// A normal deviate kept from the last Box–Muller pair.
    private var spareGaussian: Double?

    /// A generator whose whole sequence follows from `seed`.
    public init(seed: UInt64) {
        var mix = seed
        func next() -> UInt64 {
            mix &+= 0x9E37_79B9_7F4A_7C15
            var z = mix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (next(), next(), next(), next())
    }

    /// A generator seeded from the system's generator.
    public init() {
        var system = SystemRandomNumberGenerator()
        self.init(seed: system.next())
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = rotate(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotate(state.3, 45)
        return result
    }

    private func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// A uniform value in `[0, 1)`.
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// A uniform value in `range`.
    public mutating func uniform(_ range: ClosedRange<Double>) -> Double {
        range.lowerBound + (range.upperBound - range.lowerBound) * unit()
    }

    /// Whether an event of probability `p` happens.
    public mutating func chance(_ p: Double) -> Bool { unit() < p }

    /// A normal deviate N(`mean`, `standardDeviation`²), by the Box–Muller transform.
    public mutating func gaussian(mean: Double = 0, standardDeviation: Double = 1) -> Double {
        if let spare = spareGaussian {
            spareGaussian = nil
            return mean + standardDeviation * spare
        }
        var u = unit()
        while u <= .leastNonzeroMagnitude { u = unit() }
        let v = unit()
        let radius = (-2 * log(u)).squareRoot()
        spareGaussian = radius * sin(2 * .pi * v)
        return mean + standardDeviation * radius * cos(2 * .pi * v)
    }
}
