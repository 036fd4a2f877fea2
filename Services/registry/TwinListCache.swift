import Synchronization

/// Recently served list pages, each with the outbox horizon it was read at.
///
/// Every change to a twin commits an outbox event in its own transaction, so while the horizon
/// (`registry.event_horizon()`: the highest committed event id, read after every writer holding an id
/// has finished) stays the same, no twin has changed and a page read at that horizon is still exactly
/// what the query would return. A page read after the horizon may include changes with higher ids; the
/// horizon has then moved by the time anyone asks again, so such a page is never served (a miss, not a
/// stale answer). Serving a cached page costs one cheap round trip instead of reading and rendering
/// every twin of the page. Requests that miss at the same horizon share one query, so a burst of them
/// holds one copy of the page instead of one each.
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

    private struct Pending {
        var horizon: Int64
        var task: Task<TwinPage, any Error>
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var pending: [Key: Pending] = [:]
        var bytes = 0
        var clock: UInt64 = 0
    }

    /// The most bytes of page text kept; pages above half of it are not kept at all.
    let capacityBytes: Int
    private let state = Mutex(State())

    init(capacityBytes: Int = 8 << 20) {
        self.capacityBytes = capacityBytes
    }

    /// The page for `key` at `horizon`: kept, being read by another request, or read now by `load`.
    func page(
        for key: Key, horizon: Int64, load: @escaping @Sendable () async throws -> TwinPage
    ) async throws -> TwinPage {
        enum Step {
            case hit(TwinPage)
            case wait(Task<TwinPage, any Error>)
        }
        let step = state.withLock { state -> Step in
            if let page = cached(key, horizon, &state) { return .hit(page) }
            if let pending = state.pending[key], pending.horizon == horizon { return .wait(pending.task) }
            let task = Task { [weak self] in
                defer { self?.finish(key, horizon) }
                let page = try await load()
                self?.store(page, for: key, horizon: horizon)
                return page
            }
            state.pending[key] = Pending(horizon: horizon, task: task)
            return .wait(task)
        }
        switch step {
        case .hit(let page): return page
        case .wait(let task): return try await task.value
        }
    }

    private func finish(_ key: Key, _ horizon: Int64) {
        state.withLock { state in
            if state.pending[key]?.horizon == horizon { state.pending[key] = nil }
        }
    }

    private func cached(_ key: Key, _ horizon: Int64, _ state: inout State) -> TwinPage? {
        guard var entry = state.entries[key], entry.horizon == horizon else { return nil }
        state.clock += 1
        entry.lastUse = state.clock
        state.entries[key] = entry
        return entry.page
    }

    /// The page for `key` if it was read at `horizon`.
    func page(for key: Key, horizon: Int64) -> TwinPage? {
        state.withLock { cached(key, horizon, &$0) }
    }

    /// Keeps `page`, read at `horizon`, evicting the least recently used pages beyond the capacity.
    func store(_ page: TwinPage, for key: Key, horizon: Int64) {
        let bytes = page.byteCount + (page.nextAfter?.utf8.count ?? 0)
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
