import Logging
import ServiceLifecycle

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Runs a generator's tick at a fixed interval until graceful shutdown.
///
/// Ticks are scheduled on a grid from the start (not "sleep the interval after each tick"), so a slow
/// tick does not make the stream drift; a tick that overran the next slot is skipped, not queued.
public struct TickLoop: Service {
    /// The time between ticks.
    public let interval: Duration
    /// The work of one tick, given the wall-clock time it is for.
    public let tick: @Sendable (Date) async -> Void

    /// A loop calling `tick` every `interval`.
    public init(interval: Duration, tick: @escaping @Sendable (Date) async -> Void) {
        self.interval = interval
        self.tick = tick
    }

    /// Ticks until graceful shutdown or cancellation.
    public func run() async throws {
        let interval = self.interval
        let tick = self.tick
        _ = try? await cancelWhenGracefulShutdown {
            let clock = ContinuousClock()
            var next = clock.now
            while !Task.isCancelled {
                await tick(Date())
                next = next.advanced(by: interval)
                let now = clock.now
                if next < now {
                    // Overran: start again from now rather than firing a burst of late ticks.
                    next = now.advanced(by: interval)
                }
                try await Task.sleep(until: next, clock: clock)
            }
        }
    }
}
