import DTPTwinStack

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The HVAC unit's operating state.
enum HVACState: String, Codable, Sendable, CaseIterable {
    case idle = "IDLE"
    case cooling = "COOLING"
    case heating = "HEATING"

    /// The extra power drawn over the 10 kW base load.
    var extraPower: Double {
        switch self {
        case .idle: 0
        case .cooling: 5
        case .heating: 4
        }
    }

    /// The temperature the room tends to in this state: up to 27 °C idle (the building warms), down to
    /// 17 °C cooling, up to 30 °C heating.
    var roomTarget: Double {
        switch self {
        case .idle: 27
        case .cooling: 17
        case .heating: 30
        }
    }
}

/// One tick of the Energy & HVAC model.
struct HVACReading: Sendable, Equatable {
    var state: HVACState
    /// The state before this tick, when it switched.
    var previous: HVACState?
    /// Power, kW: 10 + (5 cooling, 4 heating) + N(0, 0.5), 2 decimals.
    var kw: Double
    /// Energy of the tick, kWh = kW / 60, 4 decimals.
    var kwh: Double
    /// Cost = kWh × rate, 6 decimals.
    var cost: Double
    /// The room temperature after the tick, °C.
    var temperature: Double
}

/// The Energy & HVAC model: pure and seedable.
struct HVACSimulation: Sendable {
    static let switchProbability = 0.05
    static let powerNoise = 0.5
    /// How fast the room approaches its state's target, per second.
    static let roomRate = 0.005

    private var random: SeededRandom
    private(set) var state: HVACState = .idle
    private(set) var temperature: Double
    let rate: Double

    /// A simulation at `rate` per kWh, starting IDLE at `temperature`.
    init(seed: UInt64?, rate: Double, temperature: Double = 21.0) {
        random = seed.map { SeededRandom(seed: $0) } ?? SeededRandom()
        self.rate = rate
        self.temperature = temperature
    }

    /// Advances one tick of `seconds`.
    mutating func tick(seconds: Double = 1) -> HVACReading {
        var previous: HVACState?
        if random.chance(Self.switchProbability) {
            let others = HVACState.allCases.filter { $0 != state }
            previous = state
            state = others[random.unit() < 0.5 ? 0 : 1]
        }
        let kw = max(0, 10 + state.extraPower + random.gaussian(mean: 0, standardDeviation: Self.powerNoise))
            .rounded(toPlaces: 2)
        let kwh = (kw / 60).rounded(toPlaces: 4)
        let cost = (kwh * rate).rounded(toPlaces: 6)
        let pull = min(1, Self.roomRate * seconds)
        temperature += (state.roomTarget - temperature) * pull
        temperature += random.gaussian(mean: 0, standardDeviation: 0.01 * seconds.squareRoot())
        return HVACReading(state: state, previous: previous, kw: kw, kwh: kwh, cost: cost, temperature: temperature)
    }
}
