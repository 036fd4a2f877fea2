import Logging

/// Collects points and writes them in batches: when ``batchSize`` points are waiting, when
/// ``flushInterval`` has passed since the last flush, and on ``flush()`` and ``close()``.
///
/// Batches are sent one at a time and in order, so the server sees points in the order they were
/// given. A flush caused by ``write(_:)`` or ``flush()`` throws its error to that caller; a timed flush
/// cannot, so it hands the error to ``setErrorHandler(_:)``'s handler (by default: a log line). Either
/// way the failed batch is not kept: the client already retried what can be retried, and a batch the
/// server refused would be refused again. Call ``close()`` before dropping the writer.
public actor InfluxBatchWriter {
    /// Points per request.
    public nonisolated let batchSize: Int
    /// How often waiting points are written even if fewer than a batch; nil for never.
    public nonisolated let flushInterval: Duration?

    private let client: InfluxDBClient
    private var pending: [InfluxPoint] = []
    private var sending = false
    private var sendQueue: [CheckedContinuation<Void, Never>] = []
    private var timer: Task<Void, Never>?
    private var closed = false
    private var errorHandler: @Sendable (InfluxDBError) -> Void
    private var lastFlush = ContinuousClock.now

    init(client: InfluxDBClient, batchSize: Int, flushInterval: Duration?) {
        self.client = client
        self.batchSize = max(1, batchSize)
        self.flushInterval = flushInterval
        let logger = client.logger
        errorHandler = { error in
            logger.error("InfluxDB timed flush failed", metadata: ["error": "\(error)"])
        }
    }

    /// Where errors of timed flushes go.
    public func setErrorHandler(_ handler: @escaping @Sendable (InfluxDBError) -> Void) {
        errorHandler = handler
    }

    /// How many points wait to be written.
    public var pendingCount: Int { pending.count }

    /// Queues `points` and writes every full batch now; throws the first failed batch's error.
    public func write(_ points: [InfluxPoint]) async throws {
        guard !closed else { throw InfluxDBError.invalidPoint.with(message: "the writer is closed") }
        pending.append(contentsOf: points)
        startTimerIfNeeded()
        while pending.count >= batchSize {
            let batch = Array(pending.prefix(batchSize))
            pending.removeFirst(batch.count)
            try await send(batch)
        }
    }

    /// Queues one point; see ``write(_:)-([InfluxPoint])``.
    public func write(_ point: InfluxPoint) async throws {
        try await write([point])
    }

    /// Writes every waiting point now, in batches of at most ``batchSize``.
    public func flush() async throws {
        while !pending.isEmpty {
            let batch = Array(pending.prefix(batchSize))
            pending.removeFirst(batch.count)
            try await send(batch)
        }
        // Waits for a batch another caller had in flight, so that "flushed" means "on the server".
        await acquire()
        release()
    }

    /// Stops the timer and writes what is waiting; later writes throw.
    public func close() async throws {
        closed = true
        timer?.cancel()
        timer = nil
        try await flush()
    }

    private func send(_ batch: [InfluxPoint]) async throws {
        await acquire()
        defer { release() }
        lastFlush = .now
        try await client.write(batch)
    }

    /// Sending is serialized: the actor is re-entered while a request is in flight, and a second batch
    /// must not overtake the first.
    private func acquire() async {
        guard sending else {
            sending = true
            return
        }
        await withCheckedContinuation { sendQueue.append($0) }
    }

    private func release() {
        if sendQueue.isEmpty {
            sending = false
        } else {
            // Ownership passes straight to the next waiter; `sending` stays true.
            sendQueue.removeFirst().resume()
        }
    }

    private func startTimerIfNeeded() {
        guard timer == nil, let interval = flushInterval, !closed else { return }
        timer = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard let self else { return }
                await self.timedFlush(interval)
            }
        }
    }

    private func timedFlush(_ interval: Duration) async {
        guard !pending.isEmpty, ContinuousClock.now - lastFlush >= interval * 0.9 else { return }
        do {
            try await flush()
        } catch let error as InfluxDBError {
            errorHandler(error)
        } catch {
            errorHandler(InfluxDBError.unavailable.with(message: "\(error)"))
        }
    }

    deinit {
        timer?.cancel()
    }
}
