import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What a generator produced in the last hour, kept in memory so its UI has live charts without
/// InfluxDB.
///
/// Appends come from the tick loop and reads from HTTP handlers; a mutex guards the buffer, and old
/// entries are dropped in batches, so an append costs O(1) amortised.
public final class TimeWindow<Element: Sendable>: Sendable {
    /// How far back the window reaches.
    public let retention: TimeInterval
    /// The most entries kept, whatever their age, so that fleet-speed appends cannot grow it unbounded.
    public let capacity: Int
    private let storage: Mutex<Storage>

    private struct Storage {
        var entries: [(date: Date, element: Element)] = []
        var head = 0
    }

    /// A window of `retention` seconds (one hour by default), holding at most `capacity` entries.
    public init(retention: TimeInterval = 3600, capacity: Int = 100_000) {
        self.retention = retention
        self.capacity = max(1, capacity)
        self.storage = Mutex(Storage())
    }

    /// Adds `element`, stamped `date`; entries are expected in time order.
    public func append(_ element: Element, at date: Date) {
        storage.withLock { storage in
            storage.entries.append((date, element))
            let cutoff = date.addingTimeInterval(-retention)
            while storage.head < storage.entries.count
                && (storage.entries[storage.head].date < cutoff
                    || storage.entries.count - storage.head > capacity)
            {
                storage.head += 1
            }
            if storage.head > 1024 && storage.head * 2 > storage.entries.count {
                storage.entries.removeFirst(storage.head)
                storage.head = 0
            }
        }
    }

    /// The entries stamped at or after `date`, oldest first.
    public func elements(since date: Date) -> [(date: Date, element: Element)] {
        storage.withLock { storage in
            let live = storage.entries[storage.head...]
            guard let first = live.firstIndex(where: { $0.date >= date }) else { return [] }
            return Array(live[first...])
        }
    }

    /// How many entries the window holds.
    public var count: Int { storage.withLock { $0.entries.count - $0.head } }
}
