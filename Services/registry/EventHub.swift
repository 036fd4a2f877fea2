import DTPPostgres
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// One outbox row, as streamed.
struct OutboxRecord: Sendable, Hashable {
    var id: Int64
    var tenant: String
    var type: String
    var data: String
}

/// What an event stream wants: a tenant and a set of types (nil: all).
struct EventFilter: Sendable, Hashable {
    var tenant: String?
    var types: Set<String>?

    func matches(_ record: OutboxRecord) -> Bool {
        (tenant == nil || tenant == record.tenant) && (types == nil || types!.contains(record.type))
    }
}

/// The one `LISTEN` of this process, fanned out to every event-stream client.
///
/// A notification only wakes the hub; it then reads the outbox after its cursor (`id > cursor`, in id
/// order) and hands each new row to the subscribers. Since event ids become visible in id order (see
/// ``EventOutbox``), advancing the cursor never skips a row. The hub must be ``start()``ed before
/// subscribers arrive, so that its cursor is read after `LISTEN` took effect.
final class EventHub: Service, Sendable {
    enum Item: Sendable {
        case event(OutboxRecord)
        case heartbeat
    }

    private struct Subscriber {
        var filter: EventFilter
        var continuation: AsyncStream<Item>.Continuation
    }

    private struct State {
        var cursor: Int64 = 0
        var subscribers: [UUID: Subscriber] = [:]
        var watchers: [UUID: AsyncStream<Void>.Continuation] = [:]
        var notifications: PostgresNotifications?
        var stopped = false
    }

    let pool: PostgresPool
    let logger: Logger
    /// Unread events a subscriber may have before it is cut off (it then reconnects and replays).
    let subscriberBuffer: Int
    /// The twin cache this hub keeps in step: it sees every event before the streams do, and answers
    /// only while the hub runs.
    let cache: TwinCache?
    /// The pause after a read that found events, before the next read; see ``run()``.
    let readSpacing: Duration
    /// How often the hub sends itself a notification to learn that its LISTEN still hears; see ``run()``.
    let probeInterval: Duration
    /// Notifications heard so far.
    private let heard = Atomic<UInt64>(0)
    private let state = Mutex(State())
    private let wake: AsyncStream<Void>
    private let wakeContinuation: AsyncStream<Void>.Continuation

    init(
        pool: PostgresPool, logger: Logger, subscriberBuffer: Int = 50_000, cache: TwinCache? = nil,
        probeInterval: Duration = .seconds(2), readSpacing: Duration = .milliseconds(5)
    ) {
        self.readSpacing = readSpacing
        self.pool = pool
        self.logger = logger
        self.subscriberBuffer = subscriberBuffer
        self.cache = cache
        self.probeInterval = probeInterval
        (wake, wakeContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Listens, then reads the current end of the outbox.
    func start() async throws {
        let notifications = try await pool.listen(EventOutbox.channel)
        // The horizon waits for in-flight writers, so no event below it can still appear.
        let rows = try await pool.query("SELECT registry.event_horizon()")
        let cursor = try rows[0].decode(Int64.self, at: 0)
        state.withLock {
            $0.notifications = notifications
            $0.cursor = cursor
        }
    }

    /// The id of the last event handed out.
    var cursor: Int64 { state.withLock { $0.cursor } }

    /// Subscribes; returns the subscription id, the hub's cursor at that moment (every later event is
    /// delivered) and the stream.
    func subscribe(_ filter: EventFilter) -> (id: UUID, cursor: Int64, stream: AsyncStream<Item>) {
        let (stream, continuation) = AsyncStream.makeStream(
            of: Item.self, bufferingPolicy: .bufferingOldest(subscriberBuffer))
        let id = UUID()
        let cursor = state.withLock { state -> Int64 in
            if state.stopped {
                continuation.finish()
            } else {
                state.subscribers[id] = Subscriber(filter: filter, continuation: continuation)
            }
            return state.cursor
        }
        return (id, cursor, stream)
    }

    /// A stream that yields whenever new events have been read (coalesced: at most one pending), for
    /// in-process followers such as the Neo4j mirror that read the outbox themselves. It ends when the
    /// hub stops or the caller's task is cancelled.
    func watch() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let id = UUID()
        let added = state.withLock { state -> Bool in
            guard !state.stopped else { return false }
            state.watchers[id] = continuation
            return true
        }
        if added {
            continuation.onTermination = { [weak self] _ in self?.state.withLock { _ = $0.watchers.removeValue(forKey: id) } }
        } else {
            continuation.finish()
        }
        return stream
    }

    func unsubscribe(_ id: UUID) {
        let subscriber = state.withLock { $0.subscribers.removeValue(forKey: id) }
        subscriber?.continuation.finish()
    }

    /// Sends a heartbeat into a subscriber's stream.
    func heartbeat(_ id: UUID) {
        _ = state.withLock { $0.subscribers[id] }?.continuation.yield(.heartbeat)
    }

    func run() async throws {
        guard let notifications = state.withLock({ $0.notifications }) else {
            try await start()
            return try await run()
        }
        let wakeContinuation = self.wakeContinuation
        let forward = Task { [self] in
            for await _ in notifications {
                heard.add(1, ordering: .relaxed)
                wakeContinuation.yield()
            }
        }
        cache?.setLive(true)
        let probe = Task { await probeListener() }
        defer {
            probe.cancel()
            cache?.setLive(false)
            forward.cancel()
            let (subscribers, watchers) = state.withLock { state in
                state.stopped = true
                defer {
                    state.subscribers = [:]
                    state.watchers = [:]
                }
                return (Array(state.subscribers.values), Array(state.watchers.values))
            }
            subscribers.forEach { $0.continuation.finish() }
            watchers.forEach { $0.finish() }
        }
        // Catch up once at start, in case a write committed between start() and now.
        wakeContinuation.yield()
        await withGracefulShutdownHandler {
            for await _ in wake {
                // Each read takes the outbox lock exclusively, which holds new writers back until the ones in
                // flight have committed. Under a stream of writes the hub would read after every commit and
                // stall the writers each time; pausing briefly after a read that found events lets the
                // commits meanwhile be read together (at most `readSpacing` later; this cut the CPU time of
                // an upsert under load by a tenth). A write after a quiet spell is read at once.
                if await fetch() { try? await Task.sleep(for: readSpacing) }
            }
        } onGracefulShutdown: {
            wakeContinuation.finish()
        }
    }

    /// Notifications sent while the LISTEN connection is down (the server restarted, the session was
    /// terminated) are lost, and the listener reconnects silently. So every `probeInterval` the hub sends
    /// itself one: hearing it wakes the hub, which then reads every event it missed; not hearing it means
    /// the listener is deaf, and the twin cache is turned off (reads go to the database) until a probe is
    /// heard again. A change made on another replica while the listener was down therefore reaches this
    /// replica's cache and streams within about one probe interval, instead of at the next write.
    private func probeListener() async {
        var deaf = false
        while !Task.isCancelled {
            let before = heard.load(ordering: .relaxed)
            let sent = (try? await pool.notify(EventOutbox.channel, payload: "probe")) != nil
            do { try await Task.sleep(for: probeInterval) } catch { return }
            guard sent else { continue }
            let hears = heard.load(ordering: .relaxed) != before
            if hears, deaf {
                deaf = false
                cache?.setLive(true)
                logger.notice("the change feed is heard again; the twin cache is back on")
            } else if !hears, !deaf {
                deaf = true
                cache?.setLive(false)
                logger.warning("the change feed's LISTEN hears nothing; the twin cache is off until it does")
            }
        }
    }

    /// Reads every event after the cursor and hands it out; retries on failure at the next wake-up. Returns
    /// whether it found any.
    @discardableResult
    private func fetch() async -> Bool {
        var found = false
        while true {
            let cursor = self.cursor
            let records: [OutboxRecord]
            do {
                records = try await Self.read(pool, after: cursor, filter: EventFilter(), limit: 1000)
            } catch let error as PostgresError where error == .poolClosed {
                return found
            } catch {
                logger.warning("cannot read the event outbox", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(200))
                wakeContinuation.yield()
                return found
            }
            guard !records.isEmpty else { return found }
            found = true
            // The cache first, so that a client that saw an event here and then reads the twin here gets
            // that version or a newer one.
            cache?.apply(records)
            let watchers = state.withLock { state in
                for record in records {
                    var cut: [UUID] = []
                    for (id, subscriber) in state.subscribers where subscriber.filter.matches(record) {
                        if case .dropped = subscriber.continuation.yield(.event(record)) { cut.append(id) }
                    }
                    for id in cut {
                        // Too slow: end its stream; the client resumes from its Last-Event-ID.
                        state.subscribers.removeValue(forKey: id)?.continuation.finish()
                    }
                }
                state.cursor = records.last!.id
                return Array(state.watchers.values)
            }
            for watcher in watchers { watcher.yield() }
            if records.count < 1000 { return found }
        }
    }

    /// Outbox rows after `id`, in id order. The read first waits for writers still holding event ids (see
    /// ``EventOutbox``), so a later read never finds an id below the last one returned here.
    static func read(_ pool: PostgresPool, after id: Int64, filter: EventFilter, limit: Int) async throws
        -> [OutboxRecord]
    {
        let rows = try await pool.query(
            "SELECT id, tenant, type, data FROM registry.events_after($1, $2, $3, $4)",
            [id, filter.tenant, filter.types.map { Array($0) }, limit])
        return try rows.map {
            OutboxRecord(
                id: try $0.decode(Int64.self, at: 0), tenant: try $0.decode(String.self, at: 1),
                type: try $0.decode(String.self, at: 2), data: try $0.decode(String.self, at: 3))
        }
    }
}
