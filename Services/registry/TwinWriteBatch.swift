import DTPModel
import DTPPostgres
import Foundation
import Synchronization

/// One twin write: the new version, and the version it replaces, which must still be the stored one.
struct TwinWrite: Sendable {
    /// The new version.
    var twin: Twin
    /// The version read before (nil: the twin must not exist yet).
    var previous: Twin?
    /// `create`, `update` or `deprecate`, for the history.
    var op: String
    var actor: String
    /// `twin`'s JSON text, as stored, sent in its event and answered.
    var json: String

    init(_ twin: Twin, previous: Twin?, op: String, actor: String) throws {
        self.twin = twin
        self.previous = previous
        self.op = op
        self.actor = actor
        json = try twin.jsonValue.jsonText()
    }
}

/// Group commit of twin writes: concurrent writes go to the database together, in one call of
/// `registry.put_twins` (see ``Migrations``) and one transaction, so they share its round trip, its
/// statement overhead, its commit (WAL flush) and its NOTIFY instead of paying one each.
///
/// Each write keeps its own semantics: it is applied only if the twin's row is still the version its
/// writer read (compare-and-set), with its own history row and its own event, and its writer learns its
/// own outcome. A write is answered only after the transaction that holds it has committed; nothing is
/// acknowledged earlier. The batches in flight hold at most one write per twin: a second one waits for the
/// batch writing the twin to finish, then loses its compare-and-set and starts again from the cached result.
/// If a batch fails as a whole (a deadlock with another replica's batch, say), every write in it is tried
/// again alone, so one write's failure is never another's; a lost connection fails the writes of the
/// batch, as it would fail them alone, since they may or may not have committed.
///
/// Batches form by themselves: up to `concurrency` run at once, and while they run, new writes queue and
/// then go together in the next one. A lone write goes at once, in a batch of one.
final class TwinWriteBatch: Sendable {
    private struct Pending {
        var write: TwinWrite
        var continuation: CheckedContinuation<Int64?, any Error>
    }

    private struct State {
        var queue: [Pending] = []
        var running = 0
        /// Twins in the batches in flight.
        var writing: Set<String> = []
    }

    let pool: PostgresPool
    /// Where written twins go as soon as their batch has committed, before their writers resume: the
    /// event hub, reading the same events, then mostly finds them there and need not decode them.
    let cache: TwinCache?
    /// Batches in flight at once.
    let concurrency: Int
    /// The most writes in one batch.
    let maxBatch: Int
    private let state = Mutex(State())

    /// Two batches in flight let one be written by PostgreSQL while the next one gathers and is encoded.
    init(pool: PostgresPool, cache: TwinCache?, concurrency: Int = 2, maxBatch: Int = 64) {
        self.pool = pool
        self.cache = cache
        self.concurrency = concurrency
        self.maxBatch = maxBatch
    }

    /// Writes `write` with others; returns its event's id once committed (the twin is then in the cache),
    /// or nil when the twin's row was no longer `write.previous` (nothing was written).
    func write(_ write: TwinWrite) async throws -> Int64? {
        try await withCheckedThrowingContinuation { continuation in
            let startDrain = state.withLock { state -> Bool in
                state.queue.append(Pending(write: write, continuation: continuation))
                guard state.running < concurrency else { return false }
                state.running += 1
                return true
            }
            if startDrain { Task { await drain() } }
        }
    }

    /// Runs batches until the queue holds nothing it may take. A write of a twin that a batch in flight is
    /// writing waits for that batch: it would only wait for the batch's row lock, holding up every other
    /// write of its own batch, and then lose its compare-and-set anyway.
    private func drain() async {
        var finished: [Pending] = []
        while true {
            let batch = state.withLock { state -> [Pending] in
                for pending in finished { state.writing.remove(pending.write.twin.id) }
                var batch: [Pending] = []
                var rest: [Pending] = []
                for pending in state.queue {
                    if batch.count < maxBatch, state.writing.insert(pending.write.twin.id).inserted {
                        batch.append(pending)
                    } else {
                        rest.append(pending)
                    }
                }
                state.queue = rest
                if batch.isEmpty { state.running -= 1 }
                return batch
            }
            guard !batch.isEmpty else { return }
            await run(batch)
            finished = batch
        }
    }

    private func run(_ batch: [Pending]) async {
        do {
            let events = try await Self.put(batch.map(\.write), on: pool)
            if let cache {
                for (index, pending) in batch.enumerated() {
                    guard let event = events[index] else { continue }
                    let write = pending.write
                    cache.wrote(write.twin.id, CachedTwin(write.twin, json: write.json), event: event)
                }
            }
            for (index, pending) in batch.enumerated() { pending.continuation.resume(returning: events[index]) }
        } catch let error as PostgresError
            where batch.count > 1 && !error.isConnectionLost && error != .poolClosed && error != .acquireTimeout
        {
            for pending in batch { await run([pending]) }
        } catch {
            for pending in batch { pending.continuation.resume(throwing: error) }
        }
    }

    /// Writes `writes` (distinct twins) in one transaction; returns each one's event id, or nil for those
    /// whose compare-and-set failed.
    static func put(_ writes: [TwinWrite], on pool: PostgresPool) async throws -> [Int64?] {
        let ts = Timestamp.now().iso8601
        // Ordered by id, so that concurrent batches lock rows in the same order.
        let order = writes.indices.sorted { writes[$0].twin.id < writes[$1].twin.id }
        var items = "["
        for (position, index) in order.enumerated() {
            if position > 0 { items += "," }
            items += item(writes[index], n: index, ts: ts)
        }
        items += "]"
        let rows = try await pool.query("SELECT n, event_id FROM registry.put_twins($1::json)", [items])
        var events = [Int64?](repeating: nil, count: writes.count)
        for row in rows {
            let index = try row.decode(Int.self, at: 0)
            guard events.indices.contains(index) else { continue }
            events[index] = try row.decode(Int64.self, at: 1)
        }
        return events
    }

    /// One element of `put_twins`' argument, written directly (this runs for every write). The twin's JSON
    /// and its event go in as JSON values, not as strings, so they are neither escaped here nor unescaped
    /// there.
    private static func item(_ write: TwinWrite, n: Int, ts: String) -> String {
        let twin = write.twin
        func strings(_ values: [String]) -> String {
            "[" + values.map(EventOutbox.jsonString).joined(separator: ",") + "]"
        }
        let status = twin.status?.rawValue ?? LifecycleStatus.instantiated.rawValue
        let name = twin.name.map(EventOutbox.jsonString) ?? "null"
        var item = "{\"n\":\(n),\"id\":\(EventOutbox.jsonString(twin.id))"
        item += ",\"tenant\":\(EventOutbox.jsonString(twin.tenant))"
        item += ",\"status\":\(EventOutbox.jsonString(status)),\"name\":\(name)"
        item += ",\"domains\":\(strings(twin.domains)),\"version\":\(twin.version)"
        item += ",\"created_at\":\"\(twin.createdAt.iso8601)\",\"updated_at\":\"\(twin.updatedAt.iso8601)\""
        item += ",\"actor\":\(EventOutbox.jsonString(write.actor)),\"op\":\(EventOutbox.jsonString(write.op))"
        item += ",\"changed\":\(strings(TwinDraft.changedFields(from: write.previous, to: twin)))"
        if let previous = write.previous {
            item += ",\"prev_version\":\(previous.version),\"prev_updated_at\":\"\(previous.updatedAt.iso8601)\""
        }
        if write.previous?.dependencies != twin.dependencies {
            let dependencies = twin.dependencies
            item += ",\"deps\":\(strings(dependencies.static + dependencies.dynamic))"
            item += ",\"dep_sources\":"
            item += strings(
                Array(repeating: "static", count: dependencies.static.count)
                    + Array(repeating: "dynamic", count: dependencies.dynamic.count))
        }
        item += ",\"doc\":\(write.json),\"event\":"
        item += EventOutbox.twinUpdateData(doc: write.json, tenant: twin.tenant, actor: write.actor, ts: ts)
        return item + "}"
    }
}
