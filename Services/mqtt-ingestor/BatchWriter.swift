import DTPInfluxDB
import DTPPostgres
import CoreMetrics
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Reads the spool in order, maps each batch, writes it to Postgres and then InfluxDB (retrying each with
/// backoff until it succeeds), and only then releases the spool behind it.
///
/// A batch is at most `DTP_INGEST_BATCH_ROWS` messages and waits at most `DTP_INGEST_BATCH_MS` to fill.
/// While a store is down the batch is retried (100 ms doubling to `DTP_INGEST_RETRY_MAX_SECONDS`) and the
/// spool grows behind it; on recovery it drains in full batches. On SIGTERM the writer keeps going until
/// the closed spool is empty or `DTP_INGEST_DRAIN_SECONDS` passed; what is left stays in the spool for the
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
    let logger: Logger

    func run() async throws {
        let stopping = StopFlag()
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await syncLoop() }
                let position = await writeLoop(stopping)
                group.cancelAll()
                journal.discardIfDrained(at: position)
            }
        } onGracefulShutdown: {
            stopping.set()
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

    /// Returns the position up to which everything is stored.
    private func writeLoop(_ stopping: StopFlag) async -> Journal.Position {
        var position = journal.start
        var drainDeadline: ContinuousClock.Instant?
        var cache: (generation: Int, table: [String: TopicCatalog.Resolution]) = (-1, [:])
        // No message is judged before the registry's twins are known.
        while !catalog.isLoaded && !stopping.isSet {
            try? await Task.sleep(for: .milliseconds(50))
        }
        while true {
            if stopping.isSet {
                if drainDeadline == nil { drainDeadline = .now + drainTimeout }
                if !catalog.isLoaded { break }
                if journal.isClosed && position >= journal.end { break }
                if let drainDeadline, .now > drainDeadline {
                    logger.warning(
                        "stopping before the spool drained; it is replayed at the next start",
                        metadata: ["bytes": "\(journal.byteCount)"])
                    break
                }
            }
            if position >= journal.end {
                await journal.waitForData(beyond: position, timeout: .milliseconds(100))
                continue
            }
            let journal = self.journal
            let limit = batchMessages
            let from = position
            guard var (records, next) = await readBatch(journal, from: from, limit: limit) else {
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            // A batch that is not full waits for more until its first message is batchInterval old.
            if records.count < limit, !stopping.isSet, let first = records.first {
                let age = Duration.microseconds(Self.nowMicros() - first.receivedAt)
                if age < batchInterval {
                    try? await Task.sleep(for: batchInterval - age)
                    let start = next
                    if let (more, after) = await readBatch(journal, from: start, limit: limit - records.count) {
                        records += more
                        next = after
                    }
                }
            }
            let snapshot = catalog.catalog
            if cache.generation != snapshot.generation { cache = (snapshot.generation, [:]) }
            var messages: [MappedMessage] = []
            messages.reserveCapacity(records.count)
            var undeclared = 0
            for record in records {
                let resolution: TopicCatalog.Resolution
                if let cached = cache.table[record.topic] {
                    resolution = cached
                } else {
                    resolution = snapshot.resolve(record.topic)
                    if cache.table.count > 100_000 { cache.table.removeAll() }
                    cache.table[record.topic] = resolution
                }
                guard resolution.stream != nil else {
                    undeclared += 1
                    continue
                }
                messages.append(mapper.map(record, resolution: resolution))
            }
            let started = ContinuousClock.now
            guard await store(messages, stopping: stopping, deadline: drainDeadline) else { continue }
            journal.release(upTo: next)
            position = next
            record(messages, undeclared: undeclared, started: started, newest: records.last?.receivedAt)
        }
        return position
    }

    /// Reads from the spool on a thread of its own (file reads block).
    private func readBatch(_ journal: Journal, from: Journal.Position, limit: Int) async -> (
        [JournalRecord], Journal.Position
    )? {
        let logger = self.logger
        return await onThread {
            do {
                return try journal.read(from: from, maxRecords: limit)
            } catch {
                logger.error("cannot read the spool", metadata: ["error": "\(error)"])
                return nil
            }
        }
    }

    /// Writes to both stores, retrying; false when it gave up because the drain deadline passed.
    private func store(
        _ messages: [MappedMessage], stopping: StopFlag, deadline: ContinuousClock.Instant?
    ) async -> Bool {
        guard !messages.isEmpty else { return true }
        var delay = Duration.milliseconds(100)
        var failures = 0
        func pause(_ store: String, _ error: any Error) async -> Bool {
            failures += 1
            if failures == 1 {
                logger.warning("store write failed; retrying", metadata: ["store": "\(store)", "error": "\(error)"])
            }
            if stopping.isSet, let deadline, .now > deadline { return false }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, retryMaxDelay)
            return true
        }
        while true {
            do {
                try await postgres.write(messages)
                break
            } catch where PostgresSink.isDataError(error) {
                await writeOneByOne(messages)
                break
            } catch {
                metrics.postgresFailures.increment()
                guard await pause("postgres", error) else { return false }
            }
        }
        if let influx {
            let points = messages.compactMap { message -> InfluxPoint? in
                if case .stored(let stored) = message.content { return stored.point }
                return nil
            }
            while true {
                do {
                    if case .refused(let count) = try await influx.write(points) {
                        metrics.influxRefused.increment(by: count)
                    }
                    break
                } catch {
                    metrics.influxFailures.increment()
                    guard await pause("influxdb", error) else { return false }
                }
            }
        }
        if failures > 0 { logger.notice("store write recovered", metadata: ["attempts": "\(failures + 1)"]) }
        return true
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

    private func record(_ messages: [MappedMessage], undeclared: Int, started: ContinuousClock.Instant, newest: Int64?) {
        metrics.flushLatency.recordNanoseconds(Int64((ContinuousClock.now - started) / .nanoseconds(1)))
        metrics.batchSize.record(messages.count + undeclared)
        if undeclared > 0 { metrics.undeclared.increment(by: undeclared) }
        if let newest { metrics.lag.record(Double(Self.nowMicros() - newest) / 1_000_000) }
        var perStream: [String: (received: Int, stored: Int)] = [:]
        var rejected: [String: [String: Int]] = [:]
        for message in messages {
            var entry = perStream[message.stream] ?? (0, 0)
            entry.received += 1
            switch message.content {
            case .stored: entry.stored += 1
            case .rejected(let row): rejected[message.stream, default: [:]][row.kind, default: 0] += 1
            }
            perStream[message.stream] = entry
        }
        for (stream, counts) in perStream { metrics.count(stream: stream, received: counts.received, stored: counts.stored) }
        for (stream, kinds) in rejected {
            for (kind, count) in kinds { metrics.rejected(stream: stream, kind: kind, count: count) }
        }
    }

    static func nowMicros() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000_000) }
}

/// A flag set once, read from any task.
final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .relaxed) }
    func set() { value.store(true, ordering: .relaxed) }
}

/// Runs `body` on a thread of its own, so that blocking calls never hold a cooperative thread.
func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: body()) }
        thread.name = "dtp-ingestor-io"
        thread.start()
    }
}
