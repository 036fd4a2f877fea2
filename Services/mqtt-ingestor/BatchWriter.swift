import CoreMetrics
import DTPInfluxDB
import DTPPostgres
import Dispatch
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Reads the spool in order, maps it into batches, writes each batch to Postgres and InfluxDB at the same
/// time (retrying each with backoff until it succeeds), and only then releases the spool behind it.
///
/// The stages run side by side, so the process's CPU work overlaps the stores' round trips: a thread of its
/// own reads and maps the spool into the next batch (and encodes its COPY rows) while two store workers
/// write the batches before it. At most four batches are in memory: two being stored, one handed over and
/// one being filled.
///
/// A batch is at most `DTP_INGEST_BATCH_ROWS` messages. A partial batch goes to a store worker that is
/// idle once it holds a tenth of that, its first message waited `DTP_INGEST_BATCH_MS`, or the stream paused
/// (nothing new for ``quietGap``): the stores never idle while messages wait, and a burst is stored as soon
/// as it ended. While
/// a store is down the batch is retried (100 ms doubling to `DTP_INGEST_RETRY_MAX_SECONDS`) and the spool
/// grows behind it; on recovery it drains in full batches. On SIGTERM the writer keeps going until the
/// closed spool is empty or `DTP_INGEST_DRAIN_SECONDS` passed; what is left stays in the spool for the
/// next start.
struct BatchWriter: Service {
    let journal: Journal
    let catalog: CatalogStore
    let mapper: MessageMapper
    let postgres: PostgresSink
    let influx: InfluxSink?
    let metrics: IngestorMetrics
    let batchMessages: Int
    let batchInterval: Duration
    let retryMaxDelay: Duration
    let drainTimeout: Duration
    let syncInterval: Duration
    /// `DTP_INGEST_PG_WRITERS`: Postgres lanes; batches go to them in turn, each `COPY`ing on its own
    /// connection. At most one batch more than there are Postgres lanes is in the lanes.
    let postgresWriters: Int
    let logger: Logger

    /// How long the stream must pause before a partial batch is stored (at most `DTP_INGEST_BATCH_MS`).
    var quietGap: Duration { min(.milliseconds(2), batchInterval) }

    /// How many records the reading thread takes from the spool at a time.
    static let readChunk = 512

    func run() async throws {
        let shutdown = Shutdown(drainTimeout: drainTimeout)
        let queue = BatchQueue()
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await syncLoop() }
                let tracker = ReleaseOrder(journal: journal, window: postgresWriters + 1)
                let reader = startReading(into: queue, tracker: tracker, shutdown: shutdown)
                let position = await storeLoop(queue, tracker: tracker, shutdown: shutdown)
                // The reader may wait to hand over a batch nobody will take any more.
                queue.finish()
                journal.wakeReader()
                await reader.finished()
                group.cancelAll()
                journal.discardIfDrained(at: position)
            }
        } onGracefulShutdown: {
            shutdown.begin()
            journal.wakeReader()
        }
        journal.sync()
    }

    /// Flushes the spool to the disk periodically, for power loss.
    private func syncLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: syncInterval)
            let journal = self.journal
            await onThread { journal.sync() }
            metrics.spoolBytes.record(journal.byteCount)
            metrics.spoolSegments.record(journal.segmentCount)
        }
    }

    // MARK: Storing

    /// Stores the batches the reader hands over. Postgres and InfluxDB are two lanes that each write the
    /// batches in order, at their own pace, so the slower store never waits for the other one; at most
    /// `DTP_INGEST_PG_WRITERS` + 1 batches are in the lanes. A batch is stored once both lanes have written
    /// it, and the spool is released in order, behind the oldest batch not yet stored. Returns the position
    /// up to which everything is stored.
    private func storeLoop(_ queue: BatchQueue, tracker: ReleaseOrder, shutdown: Shutdown) async
        -> Journal.Position
    {
        let journal = self.journal
        let postgresLanes = (0..<postgresWriters).map { _ in AsyncStream.makeStream(of: PreparedBatch.self) }
        let (influxBatches, influxInput) = AsyncStream.makeStream(of: PreparedBatch.self)
        await withTaskGroup(of: Void.self) { group in
            for (postgresBatches, _) in postgresLanes {
                group.addTask {
                    for await batch in postgresBatches {
                        guard await storePostgres(batch, shutdown: shutdown) else { return tracker.fail() }
                        if let done = tracker.stored(batch, lane: 0) { record(done) }
                    }
                }
            }
            group.addTask {
                for await batch in influxBatches {
                    guard await storeInflux(batch, shutdown: shutdown) else { return tracker.fail() }
                    if let done = tracker.stored(batch, lane: 1) { record(done) }
                }
            }
            while await tracker.waitForRoom(), let batch = await queue.take(whenIdle: { journal.wakeReader() }) {
                tracker.begin(batch)
                postgresLanes[batch.sequence % postgresLanes.count].1.yield(batch)
                influxInput.yield(batch)
            }
            // Past the drain deadline (a lane gave up) or the reader finished: no more batches.
            queue.finish()
            for (_, input) in postgresLanes { input.finish() }
            influxInput.finish()
        }
        return tracker.position
    }


    /// Writes a batch to Postgres, retrying; false when it gave up because the drain deadline passed.
    private func storePostgres(_ batch: PreparedBatch, shutdown: Shutdown) async -> Bool {
        guard !batch.messages.isEmpty else { return true }
        return await retrying("postgres", shutdown: shutdown) {
            do {
                let started = ContinuousClock.now
                try await postgres.write(batch.rows)
                metrics.postgresLatency.recordNanoseconds(Int64((ContinuousClock.now - started) / .nanoseconds(1)))
            } catch where PostgresSink.isDataError(error) {
                await writeOneByOne(batch.messages)
            } catch {
                metrics.postgresFailures.increment()
                throw error
            }
        }
    }

    /// Writes a batch's points to InfluxDB, retrying; false when it gave up because the drain deadline
    /// passed.
    private func storeInflux(_ batch: PreparedBatch, shutdown: Shutdown) async -> Bool {
        guard let influx, !batch.points.isEmpty else { return true }
        return await retrying("influxdb", shutdown: shutdown) {
            do {
                let started = ContinuousClock.now
                if case .refused(let count) = try await influx.write(batch.points) {
                    metrics.influxRefused.increment(by: count)
                }
                metrics.influxLatency.recordNanoseconds(Int64((ContinuousClock.now - started) / .nanoseconds(1)))
            } catch {
                metrics.influxFailures.increment()
                throw error
            }
        }
    }

    /// Runs `operation` until it succeeds, pausing 100 ms doubling to the configured maximum between
    /// attempts; false when shutting down past the drain deadline.
    private func retrying(
        _ store: String, shutdown: Shutdown, _ operation: @Sendable () async throws -> Void
    ) async -> Bool {
        var delay = Duration.milliseconds(100)
        var failures = 0
        while true {
            do {
                try await operation()
                if failures > 0 {
                    logger.notice(
                        "store write recovered", metadata: ["store": "\(store)", "attempts": "\(failures + 1)"])
                }
                return true
            } catch {
                failures += 1
                if failures == 1 {
                    logger.warning(
                        "store write failed; retrying", metadata: ["store": "\(store)", "error": "\(error)"])
                }
                if shutdown.isPastDeadline { return false }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, retryMaxDelay)
            }
        }
    }

    /// A batch the database refused for its data: each message alone, and one still refused is rejected.
    private func writeOneByOne(_ messages: [MappedMessage]) async {
        for message in messages {
            do {
                try await postgres.write([message])
            } catch {
                var rejected = message
                rejected.content = .rejected(
                    .init(kind: "store_refused", reason: "the database refused it: \(error)", payload: [], size: 0))
                do {
                    try await postgres.write([rejected])
                } catch {
                    logger.error("cannot store a rejected message", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    private func record(_ done: ReleaseOrder.Stored) {
        let batch = done.batch
        metrics.flushLatency.recordNanoseconds(Int64((ContinuousClock.now - done.started) / .nanoseconds(1)))
        metrics.batchSize.record(batch.messages.count + batch.undeclared)
        if batch.undeclared > 0 { metrics.undeclared.increment(by: batch.undeclared) }
        if let newest = batch.newest { metrics.lag.record(Double(Self.nowMicros() - newest) / 1_000_000) }
        var perStream: [String: (received: Int, stored: Int)] = [:]
        var rejected: [String: [String: Int]] = [:]
        // A run of messages of one stream is counted together: a batch is mostly one or a few runs, and
        // hashing every message's stream name was most of this loop.
        var run: (stream: String, received: Int, stored: Int)?
        func flush() {
            guard let run else { return }
            var entry = perStream[run.stream] ?? (0, 0)
            entry.received += run.received
            entry.stored += run.stored
            perStream[run.stream] = entry
        }
        for index in batch.messages.indices {
            let stream = batch.messages[index].stream
            if run?.stream != stream {
                flush()
                run = (stream, 0, 0)
            }
            run!.received += 1
            if case .rejected(let row) = batch.messages[index].content {
                rejected[stream, default: [:]][row.kind, default: 0] += 1
            } else {
                run!.stored += 1
            }
        }
        flush()
        for (stream, counts) in perStream {
            metrics.count(stream: stream, received: counts.received, stored: counts.stored)
        }
        for (stream, kinds) in rejected {
            for (kind, count) in kinds { metrics.rejected(stream: stream, kind: kind, count: count) }
        }
    }

    // MARK: Reading

    /// Starts the reading thread: it reads and maps the spool into batches for `queue`, and ends once the
    /// closed spool is read to its end, the drain deadline passed, or the queue was finished.
    private func startReading(into queue: BatchQueue, tracker: ReleaseOrder, shutdown: Shutdown)
        -> ThreadCompletion
    {
        let completion = ThreadCompletion()
        let thread = Thread { [self] in
            readLoop(into: queue, tracker: tracker, shutdown: shutdown)
            queue.finish()
            completion.complete()
        }
        thread.name = "dtp-ingest-read"
        thread.start()
        return completion
    }

    private func readLoop(into queue: BatchQueue, tracker: ReleaseOrder, shutdown: Shutdown) {
        // No message is judged before the registry's twins are known.
        while !catalog.isLoaded && !shutdown.isStarted { usleep(20_000) }
        guard catalog.isLoaded else { return }
        let cache = ResolutionCache()
        var position = journal.start
        var sequence = 0
        var batch = BatchBuilder(postgres: postgres, hasInflux: influx != nil)
        // When the batch got its first message, and when it last grew.
        var opened = ContinuousClock.now
        var grew = ContinuousClock.now
        while !shutdown.isPastDeadline && !queue.isFinished {
            let room = batchMessages - batch.count
            if room > 0 {
                let records: [JournalRecord]
                let next: Journal.Position
                do {
                    (records, next) = try journal.read(from: position, maxRecords: min(room, Self.readChunk))
                } catch {
                    logger.error("cannot read the spool", metadata: ["error": "\(error)"])
                    usleep(1_000_000)
                    continue
                }
                if !records.isEmpty {
                    if batch.count == 0 { opened = .now }
                    grew = .now
                    map(records, into: &batch, cache: cache)
                    position = next
                    if batch.count < batchMessages { continue }
                }
            }
            if batch.count == 0 {
                if shutdown.isStarted && journal.isClosed && position >= journal.end { return }
                journal.waitForAppend(from: position, timeout: .milliseconds(100))
                continue
            }
            // A batch, and nothing more to read at the moment: handed over when full; when the stores take
            // more, once it waited long enough or the stream paused; and when they are idle, once it holds a
            // tenth of a full batch (they never idle while messages wait, and they still get big batches).
            let now = ContinuousClock.now
            let full = batch.count >= batchMessages
            let due = shutdown.isStarted || now - opened >= batchInterval || now - grew >= quietGap
            let taking = queue.isConsumerWaiting
            if full || (taking && due) || (taking && tracker.isIdle && batch.count >= max(1, batchMessages / 10)) {
                guard queue.put(batch.finish(sequence: sequence, next: position)) else { return }
                sequence += 1
                batch = BatchBuilder(postgres: postgres, hasInflux: influx != nil)
                continue
            }
            // Let more arrive: read every millisecond rather than woken by every append (or at once when
            // the store loop becomes idle and wakes this thread).
            journal.pause(.milliseconds(1))
        }
    }

    /// Maps `records` into `batch`.
    private func map(_ records: [JournalRecord], into batch: inout BatchBuilder, cache: ResolutionCache) {
        let snapshot = catalog.catalog
        for record in records {
            let resolution = cache.resolve(record.topic, in: snapshot)
            guard resolution.stream != nil else {
                batch.addUndeclared(record)
                continue
            }
            batch.add(mapper.map(record, resolution: resolution))
        }
    }

    static func nowMicros() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000_000) }
}

/// A batch read from the spool, mapped, and encoded for the stores.
struct PreparedBatch: Sendable {
    /// Its place in the order of batches (0, 1, 2, …).
    var sequence: Int
    var messages: [MappedMessage]
    /// The Postgres rows, encoded by the reading thread.
    var rows: PostgresSink.Rows
    /// The InfluxDB points.
    var points: [InfluxPoint]
    var undeclared: Int
    /// The spool position after its last record.
    var next: Journal.Position
    /// When its newest message was received.
    var newest: Int64?
}

/// A batch being filled by the reading thread.
struct BatchBuilder {
    private var messages: [MappedMessage] = []
    private var rows: PostgresSink.Rows
    private var points: [InfluxPoint] = []
    private var undeclared = 0
    private var newest: Int64?
    private let hasInflux: Bool

    init(postgres: PostgresSink, hasInflux: Bool) {
        rows = postgres.rows()
        self.hasInflux = hasInflux
    }

    /// Messages in the batch, undeclared ones included.
    var count: Int { messages.count + undeclared }

    mutating func add(_ message: MappedMessage) {
        rows.add(message)
        if hasInflux, case .stored(let stored) = message.content, let point = stored.point { points.append(point) }
        newest = max(newest ?? message.receivedAt, message.receivedAt)
        messages.append(message)
    }

    mutating func addUndeclared(_ record: JournalRecord) {
        undeclared += 1
        newest = max(newest ?? record.receivedAt, record.receivedAt)
    }

    func finish(sequence: Int, next: Journal.Position) -> PreparedBatch {
        PreparedBatch(
            sequence: sequence, messages: messages, rows: rows, points: points, undeclared: undeclared, next: next,
            newest: newest)
    }
}

/// The hand-over between the reading thread (which blocks) and the store workers (which await): one batch
/// at a time.
final class BatchQueue: Sendable {
    private struct State {
        var ready: PreparedBatch?
        /// Store workers waiting for a batch, longest first.
        var consumers: [CheckedContinuation<PreparedBatch?, Never>] = []
        var producerWaiting = false
        var finished = false
    }

    private let state = Mutex(State())
    /// Wakes a producer waiting for the previous batch to be taken.
    private let space = DispatchSemaphore(value: 0)

    /// Whether the store loop waits for a batch (the stores are idle).
    var isConsumerWaiting: Bool { state.withLock { !$0.consumers.isEmpty } }

    /// Whether ``finish()`` was called.
    var isFinished: Bool { state.withLock { $0.finished } }

    /// Hands `batch` over, blocking the calling thread while the one before is not taken yet; false once
    /// the queue is finished (the batch is dropped: its messages stay in the spool).
    func put(_ batch: PreparedBatch) -> Bool {
        while true {
            enum Step {
                case handed(CheckedContinuation<PreparedBatch?, Never>?)
                case wait
                case finished
            }
            let step = state.withLock { state -> Step in
                if state.finished { return .finished }
                if !state.consumers.isEmpty { return .handed(state.consumers.removeFirst()) }
                if state.ready == nil {
                    state.ready = batch
                    return .handed(nil)
                }
                state.producerWaiting = true
                return .wait
            }
            switch step {
            case .handed(let consumer):
                consumer?.resume(returning: batch)
                return true
            case .finished:
                return false
            case .wait:
                space.wait()
            }
        }
    }

    /// The next batch, waiting for one (after calling `whenIdle`); nil once finished and empty.
    func take(whenIdle: () -> Void) async -> PreparedBatch? {
        await withCheckedContinuation { (continuation: CheckedContinuation<PreparedBatch?, Never>) in
            enum Step {
                case now(PreparedBatch?, wakeProducer: Bool)
                case waiting
            }
            let step = state.withLock { state -> Step in
                if let ready = state.ready {
                    state.ready = nil
                    defer { state.producerWaiting = false }
                    return .now(ready, wakeProducer: state.producerWaiting)
                }
                if state.finished { return .now(nil, wakeProducer: false) }
                state.consumers.append(continuation)
                return .waiting
            }
            switch step {
            case .now(let batch, let wakeProducer):
                if wakeProducer { space.signal() }
                continuation.resume(returning: batch)
            case .waiting:
                whenIdle()
            }
        }
    }

    /// Ends the hand-over: a waiting consumer gets nil, a waiting producer false, and so do later calls
    /// (a batch already handed over is still taken).
    func finish() {
        let (consumers, producerWaiting) = state.withLock { state in
            state.finished = true
            defer {
                state.consumers = []
                state.producerWaiting = false
            }
            return (state.consumers, state.producerWaiting)
        }
        for consumer in consumers { consumer.resume(returning: nil) }
        if producerWaiting { space.signal() }
    }
}

/// Follows the batches through the store lanes: bounds how many are in them, knows when both lanes wrote
/// one, and releases the spool behind stored batches in their order, whichever order they finished in.
final class ReleaseOrder: Sendable {
    /// A batch both lanes wrote.
    struct Stored {
        var batch: PreparedBatch
        var started: ContinuousClock.Instant
    }

    private struct State {
        var next = 0
        var position: Journal.Position
        /// Batches in the lanes: when each started and how many lanes wrote it.
        var inLanes: [Int: (started: ContinuousClock.Instant, lanes: Int)] = [:]
        /// Stored batches waiting for an older one, by sequence: the position after each.
        var done: [Int: Journal.Position] = [:]
        var roomWaiter: CheckedContinuation<Bool, Never>?
        var failed = false
    }

    private let journal: Journal
    private let window: Int
    private let state: Mutex<State>

    init(journal: Journal, window: Int) {
        self.journal = journal
        self.window = window
        state = Mutex(State(position: journal.start))
    }

    /// The position up to which every batch is stored.
    var position: Journal.Position { state.withLock { $0.position } }

    /// Whether no batch is in the lanes.
    var isIdle: Bool { state.withLock { $0.inLanes.isEmpty } }

    /// Waits until fewer than `window` batches are in the lanes; false once a lane gave up.
    func waitForRoom() async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let answer = state.withLock { state -> Bool? in
                if state.failed { return false }
                if state.inLanes.count < window { return true }
                state.roomWaiter = continuation
                return nil
            }
            if let answer { continuation.resume(returning: answer) }
        }
    }

    /// `batch` enters the lanes.
    func begin(_ batch: PreparedBatch) {
        state.withLock { $0.inLanes[batch.sequence] = (.now, 0) }
    }

    /// Lane `lane` wrote `batch`; when that was the second lane, releases what is stored in order and
    /// returns the batch.
    func stored(_ batch: PreparedBatch, lane: Int) -> Stored? {
        let (stored, release, waiter) = state.withLock {
            state -> (Stored?, Journal.Position?, CheckedContinuation<Bool, Never>?) in
            guard var entry = state.inLanes[batch.sequence] else { return (nil, nil, nil) }
            entry.lanes += 1
            guard entry.lanes == 2 else {
                state.inLanes[batch.sequence] = entry
                return (nil, nil, nil)
            }
            state.inLanes[batch.sequence] = nil
            state.done[batch.sequence] = batch.next
            var moved = false
            while let next = state.done.removeValue(forKey: state.next) {
                state.position = next
                state.next += 1
                moved = true
            }
            defer { state.roomWaiter = nil }
            return (Stored(batch: batch, started: entry.started), moved ? state.position : nil, state.roomWaiter)
        }
        if let release { journal.release(upTo: release) }
        waiter?.resume(returning: true)
        return stored
    }

    /// A lane gave up (past the drain deadline): no batch enters any more.
    func fail() {
        let waiter = state.withLock { state in
            state.failed = true
            defer { state.roomWaiter = nil }
            return state.roomWaiter
        }
        waiter?.resume(returning: false)
    }
}

/// When graceful shutdown began, and whether the drain deadline after it has passed.
final class Shutdown: Sendable {
    private let started = Mutex<ContinuousClock.Instant?>(nil)
    let drainTimeout: Duration

    init(drainTimeout: Duration) { self.drainTimeout = drainTimeout }

    func begin() { started.withLock { $0 = $0 ?? .now } }

    var isStarted: Bool { started.withLock { $0 != nil } }

    /// Shutting down and `drainTimeout` passed since it began.
    var isPastDeadline: Bool {
        guard let start = started.withLock({ $0 }) else { return false }
        return ContinuousClock.now - start > drainTimeout
    }
}

/// Lets a task await the end of a thread.
final class ThreadCompletion: Sendable {
    private let state = Mutex<(done: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    func complete() {
        let waiter = state.withLock { state in
            state.done = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    func finished() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state in
                if !state.done { state.waiter = continuation }
                return state.done
            }
            if done { continuation.resume() }
        }
    }
}

/// Topic resolutions of one catalog generation, so a steady stream resolves each topic once.
final class ResolutionCache: Sendable {
    private let state = Mutex<(generation: Int, table: [String: TopicCatalog.Resolution])>((-1, [:]))

    func resolve(_ topic: String, in catalog: TopicCatalog) -> TopicCatalog.Resolution {
        if let cached = state.withLock({ $0.generation == catalog.generation ? $0.table[topic] : nil }) {
            return cached
        }
        let resolution = catalog.resolve(topic)
        state.withLock { state in
            if state.generation != catalog.generation || state.table.count > 100_000 {
                state = (catalog.generation, [:])
            }
            state.table[topic] = resolution
        }
        return resolution
    }
}

/// A flag set once, read from any task.
final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .relaxed) }
    func set() { value.store(true, ordering: .relaxed) }
    /// Whether it was set, clearing it.
    func take() -> Bool { value.exchange(false, ordering: .relaxed) }
}

/// Runs `body` on a thread of its own, so that blocking calls never hold a cooperative thread.
func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: body()) }
        thread.name = "dtp-ingestor-io"
        thread.start()
    }
}
