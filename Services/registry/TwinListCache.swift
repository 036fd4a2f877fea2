import Synchronization

/// Recently served list pages, each with the outbox horizon it was read at.
///
/// Every change to a twin commits an outbox event in its own transaction, so while the horizon
/// (`registry.event_horizon()`: the highest committed event id, read after every writer holding an id
/// has finished) stays the same, no twin has changed and a page read at that horizon is still exactly
/// what the query would return. A page read after the horizon may include changes with higher ids; the
/// horizon has then moved by the time anyone asks again, so such a page is never served (a miss, not a
/// stale answer). Serving a cached page costs one cheap round trip instead of reading and rendering
/// every twin of the page.
final class TwinListCache: Sendable {
    struct Key: Hashable, Sendable {
        var filter: TwinFilter
        var limit: Int
        var after: String?
    }

    private struct Entry {
        var horizon: Int64
        var page: TwinPage
        var bytes: Int
        var lastUse: UInt64
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var bytes = 0
        var clock: UInt64 = 0
    }

    /// The most bytes of page text kept; pages above half of it are not kept at all.
    let capacityBytes: Int
    private let state = Mutex(State())

    init(capacityBytes: Int = 8 << 20) {
        self.capacityBytes = capacityBytes
    }

    /// The page for `key` if it was read at `horizon`.
    func page(for key: Key, horizon: Int64) -> TwinPage? {
        state.withLock { state in
            guard var entry = state.entries[key], entry.horizon == horizon else { return nil }
            state.clock += 1
            entry.lastUse = state.clock
            state.entries[key] = entry
            return entry.page
        }
    }

    /// Keeps `page`, read at `horizon`, evicting the least recently used pages beyond the capacity.
    func store(_ page: TwinPage, for key: Key, horizon: Int64) {
        let bytes = page.joined.utf8.count + (page.nextAfter?.utf8.count ?? 0)
        guard bytes * 2 <= capacityBytes else { return }
        state.withLock { state in
            state.clock += 1
            if let old = state.entries.removeValue(forKey: key) { state.bytes -= old.bytes }
            while state.bytes + bytes > capacityBytes,
                let oldest = state.entries.min(by: { $0.value.lastUse < $1.value.lastUse })
            {
                state.entries.removeValue(forKey: oldest.key)
                state.bytes -= oldest.value.bytes
            }
            state.entries[key] = Entry(horizon: horizon, page: page, bytes: bytes, lastUse: state.clock)
            state.bytes += bytes
        }
    }
}
