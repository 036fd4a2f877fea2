import DTPModel
import Foundation
import Hummingbird
import Synchronization

/// A twin as the cache holds it: decoded, for the writes that start from it, and as the JSON text a GET
/// answers with, in a buffer that every response shares instead of copying.
struct CachedTwin: Sendable {
    let twin: Twin
    let body: ByteBuffer

    /// From a write's result and the JSON text it stored.
    init(_ twin: Twin, json: String) {
        self.twin = twin
        body = ByteBuffer(string: json)
    }

    /// From the stored JSON text (a row's `doc`).
    init(json: String) throws {
        try self.init(Twin(storedJSON: json), json: json)
    }
}

/// The twins this replica read or wrote lately, kept in step with the database by the change feed, so a
/// GET of a twin, and the read that an upsert or PATCH starts with, need no database round trip.
///
/// Every change to a twin commits a `twin.update` event (the whole twin) or a `twin.delete` event in its
/// own transaction, and the ``EventHub`` reads every event in id order. Each entry carries the event
/// position it reflects, and an entry is only ever replaced by a newer one:
/// - a write on this replica stores its result, tagged with its event's id, before it answers, so a GET
///   here after a write here returned sees that write (or a newer one);
/// - events the hub reads (writes on other replicas) replace older entries, so a change made elsewhere
///   shows here once the hub has read it: as soon as it goes out on this replica's event streams,
///   milliseconds after its commit;
/// - a read from the database is tagged with the feed position taken before it began: it reflects every
///   event up to that position, and any later change to the twin comes through the feed with a higher id.
///
/// Memory is bounded: beyond `capacityBytes` (body bytes times an allowance for the decoded twin), the
/// least recently used entries are dropped. Dropping an entry loses what it knew, so `floor` remembers the
/// highest position dropped, and a new entry older than that is not stored (the twin is read again). The
/// cache is only consulted while the hub follows the feed (``isLive``); a write path that finds the cache
/// wrong loses its compare-and-set and reads the database, so a stale entry can never overwrite a change.
final class TwinCache: Sendable {
    /// What the cache knows about one twin.
    enum Lookup: Sendable {
        case present(CachedTwin)
        /// Deleted, or never existed, as of the entry's position.
        case absent
        /// Not cached: ask the database.
        case unknown
    }

    private struct Entry {
        /// nil: the twin does not exist.
        var twin: CachedTwin?
        var position: Int64
        var cost: Int
        var lastUse: UInt64
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var bytes = 0
        var clock: UInt64 = 0
        /// The highest position of a dropped entry.
        var floor: Int64 = 0
        /// The id of the last event the feed applied.
        var position: Int64 = 0
        /// Events written on this replica that the feed has not reached yet: their entries are already
        /// stored, so the feed skips them instead of decoding them again.
        var localEvents: Set<Int64> = []
        var evictions = 0
    }

    /// The most the entries may cost, in bytes.
    let capacityBytes: Int
    private let state = Mutex(State())
    private let live = Atomic<Bool>(false)

    /// A decoded twin costs about this many times its JSON text.
    static let decodedAllowance = 4
    /// What an entry costs besides its text.
    static let entryOverhead = 160

    init(capacityBytes: Int) {
        self.capacityBytes = capacityBytes
    }

    /// Whether the event hub is following the feed; the cache must not answer otherwise.
    var isLive: Bool { live.load(ordering: .acquiring) }

    /// Set by the event hub when it starts and stops following the feed. Stopping forgets everything, as
    /// changes made meanwhile will not be applied.
    func setLive(_ following: Bool) {
        if !following {
            state.withLock { state in
                state.floor = max(state.floor, state.position)
                state.entries = [:]
                state.bytes = 0
                state.localEvents = []
            }
        }
        live.store(following, ordering: .releasing)
    }

    /// The position a database read must take before it starts, for ``fill(_:_:readAfter:)``.
    var position: Int64 { state.withLock { $0.position } }

    /// Entries and their cost, for tests and metrics.
    var usage: (entries: Int, bytes: Int, evictions: Int) {
        state.withLock { ($0.entries.count, $0.bytes, $0.evictions) }
    }

    func lookup(_ id: String) -> Lookup {
        guard isLive else { return .unknown }
        return state.withLock { state in
            guard let entry = state.entries[id] else { return .unknown }
            state.clock += 1
            state.entries[id]!.lastUse = state.clock
            return entry.twin.map(Lookup.present) ?? .absent
        }
    }

    /// Stores what a database read found (nil: no such twin); `position` is ``position`` read before the
    /// read began.
    func fill(_ id: String, _ twin: CachedTwin?, readAfter position: Int64) {
        guard isLive else { return }
        state.withLock { store(id, twin, at: position, &$0) }
    }

    /// Stores the result of a write on this replica that has committed (nil: deleted) with its event's id.
    func wrote(_ id: String, _ twin: CachedTwin?, event: Int64) {
        guard isLive else { return }
        state.withLock { state in
            if event > state.position { state.localEvents.insert(event) }
            store(id, twin, at: event, &state)
        }
    }

    /// Applies the events the hub read, in id order.
    func apply(_ records: [OutboxRecord]) {
        guard let last = records.last?.id else { return }
        let foreign = state.withLock { state in
            records.filter { !state.localEvents.contains($0.id) && Self.isTwinEvent($0.type) }
        }
        // Decoded outside the lock: only events from other replicas get here.
        var changes: [(id: String, twin: CachedTwin?, position: Int64)] = []
        var unreadable: Int64?
        for record in foreign {
            if let change = Self.change(of: record) {
                changes.append((change.id, change.twin, record.id))
            } else {
                unreadable = record.id
            }
        }
        state.withLock { state in
            for change in changes { store(change.id, change.twin, at: change.position, &state) }
            if let unreadable {
                // A change to an unknown twin: forget every twin instead of serving one stale.
                state.floor = max(state.floor, unreadable)
                state.entries = [:]
                state.bytes = 0
            }
            state.position = max(state.position, last)
            if !state.localEvents.isEmpty {
                state.localEvents = state.localEvents.filter { $0 > last }
            }
        }
    }

    private static func isTwinEvent(_ type: String) -> Bool {
        type == RegistryEvent.EventType.twinUpdate.rawValue || type == RegistryEvent.EventType.twinDelete.rawValue
    }

    /// The twin an event is about and its state after it; nil when the event cannot be read.
    private static func change(of record: OutboxRecord) -> (id: String, twin: CachedTwin?)? {
        guard let data = try? JSONValue(jsonText: record.data), let payload = data["payload"] else { return nil }
        if record.type == RegistryEvent.EventType.twinDelete.rawValue {
            guard case .string(let id)? = payload["twin_id"] else { return nil }
            return (id, nil)
        }
        guard let twin = try? Twin(storedJSON: payload), let json = try? payload.jsonText() else { return nil }
        return (twin.id, CachedTwin(twin, json: json))
    }

    /// Stores `twin` at `position` unless the cache already knows a state at least as new.
    private func store(_ id: String, _ twin: CachedTwin?, at position: Int64, _ state: inout State) {
        if let existing = state.entries[id] {
            guard existing.position < position else { return }
            state.bytes -= existing.cost
        } else if position < state.floor {
            // A newer state of this twin may have been dropped.
            return
        }
        let cost = Self.entryOverhead + id.utf8.count + (twin?.body.readableBytes ?? 0) * Self.decodedAllowance
        state.clock += 1
        state.entries[id] = Entry(twin: twin, position: position, cost: cost, lastUse: state.clock)
        state.bytes += cost
        if state.bytes > capacityBytes { evict(&state) }
    }

    /// Drops the least recently used entries down to three quarters of the capacity, so that eviction,
    /// which sorts the entries, runs once per many stores.
    private func evict(_ state: inout State) {
        let target = capacityBytes / 4 * 3
        let oldestFirst = state.entries.sorted { $0.value.lastUse < $1.value.lastUse }
        for (id, entry) in oldestFirst {
            guard state.bytes > target else { break }
            state.entries.removeValue(forKey: id)
            state.bytes -= entry.cost
            state.floor = max(state.floor, entry.position)
            state.evictions += 1
        }
    }
}
