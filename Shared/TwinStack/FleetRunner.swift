import DTPMQTT

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What a fleet simulates: the messages of one member's tick.
public protocol FleetSource {
    /// The messages member `index` (0..<fleet size) publishes for a tick at `date`.
    mutating func messages(member index: Int, at date: Date) -> [OutboundMessage]
}

/// Fleet mode: many simulated lifts or sites publishing at a total message rate, for benchmarks.
public enum FleetRunner {
    /// What a fleet run achieved.
    public struct Report: Codable, Sendable {
        /// How many members were simulated.
        public var fleet: Int
        /// The total rate asked for, messages per second.
        public var target_rate: Double
        /// How many messages were offered to the publisher.
        public var offered: Int
        /// How many the broker took (QoS 0) or acknowledged (QoS 1).
        public var published: Int
        /// QoS 1 messages refused for a full queue.
        public var overflow: Int
        /// QoS 0 messages dropped.
        public var dropped: Int
        /// From the first message offered to the last one published, in seconds.
        public var seconds: Double
        /// `published / seconds`.
        public var achieved_rate: Double
    }

    /// Offers `rate` messages per second from `fleet` members, round robin, for `duration`; then waits
    /// (up to `drainTimeout`) until the publisher has sent everything, and reports.
    ///
    /// `publisher` must be running (its `run()` in a task) and connected.
    public static func run(
        fleet: Int, rate: Double, duration: Duration, publisher: TwinPublisher, source: inout some FleetSource,
        drainTimeout: Duration = .seconds(60)
    ) async -> Report {
        let total = max(1, Int((rate * duration.seconds).rounded()))
        let before = publisher.statistics
        let clock = ContinuousClock()
        let start = clock.now
        var offered = 0
        var member = 0
        while offered < total && !Task.isCancelled {
            let elapsed = (clock.now - start).seconds
            let due = min(total, Int(rate * elapsed) + 1)
            while offered < due {
                for message in source.messages(member: member, at: Date()) {
                    publisher.send(message)
                    offered += 1
                }
                member = (member + 1) % max(1, fleet)
            }
            // Pace in small steps: the producer wakes every millisecond and catches up to the schedule.
            try? await Task.sleep(for: .milliseconds(1))
        }
        _ = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await publisher.waitUntilIdle()
                return true
            }
            group.addTask {
                try? await Task.sleep(for: drainTimeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        let seconds = (clock.now - start).seconds
        let after = publisher.statistics
        let published =
            (after.publishedQoS0 - before.publishedQoS0) + (after.publishedQoS1 - before.publishedQoS1)
        return Report(
            fleet: fleet, target_rate: rate, offered: offered, published: published,
            overflow: after.overflow - before.overflow, dropped: after.droppedQoS0 - before.droppedQoS0,
            seconds: seconds, achieved_rate: Double(published) / max(seconds, 1e-9))
    }

    /// Parses a rate such as `20000/s`, `20000` or `1200/min`.
    public static func parseRate(_ text: String) -> Double? {
        let parts = text.lowercased().split(separator: "/", maxSplits: 1)
        guard let value = parts.first.flatMap({ Double($0) }), value > 0, value.isFinite else { return nil }
        switch parts.count == 2 ? String(parts[1]) : "s" {
        case "s", "sec", "second": return value
        case "m", "min", "minute": return value / 60
        default: return nil
        }
    }
}

extension Duration {
    /// The duration in seconds, as a Double.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
