import DTPHTTPCore
import DTPInfluxDB
import Logging
import ServiceLifecycle
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Writes a generator's points to the stack's own InfluxDB and mirrors alerts to the central one.
///
/// The tick loop only appends to a bounded buffer; this service flushes it every second, so a slow or
/// absent InfluxDB never holds up the simulation. When the buffer is full the oldest points go and
/// are counted (``droppedPoints``), as are points the server refuses. Failures are logged once per streak
/// and retried at the next flush.
public final class InfluxSink: Service, Sendable {
    /// A client of the stack's own InfluxDB, for writes and for the UI's queries.
    public let local: InfluxDBClient?
    /// A client of the central InfluxDB.
    public let central: InfluxDBClient?
    /// How often buffered points are written.
    public let flushInterval: Duration
    /// At most this many points wait per target.
    public let capacity: Int
    let logger: Logger
    private let buffers = Mutex(Buffers())
    private let dropped = Atomic<Int>(0)
    private let written = Atomic<Int>(0)

    private struct Buffers {
        var local: [InfluxPoint] = []
        var central: [InfluxPoint] = []
        var failing: Set<String> = []
    }

    /// A sink for the configured targets; either may be nil.
    public init(
        local: InfluxDBConfiguration?, central: InfluxDBConfiguration?, http: any HTTPTransport, logger: Logger,
        flushInterval: Duration = .seconds(1), capacity: Int = 50_000
    ) {
        self.local = local.map { InfluxDBClient(configuration: $0, httpClient: http, logger: logger) }
        self.central = central.map { InfluxDBClient(configuration: $0, httpClient: http, logger: logger) }
        self.flushInterval = flushInterval
        self.capacity = capacity
        self.logger = logger
    }

    /// Whether any InfluxDB is configured.
    public var isEnabled: Bool { local != nil || central != nil }

    /// Queues `points` for the local InfluxDB, and for the central one too when `mirror` is set.
    public func write(_ points: [InfluxPoint], mirror: Bool = false) {
        guard isEnabled else { return }
        var lost = 0
        buffers.withLock { buffers in
            if local != nil { buffers.local.append(contentsOf: points) }
            if mirror && central != nil { buffers.central.append(contentsOf: points) }
            if buffers.local.count > capacity {
                lost += buffers.local.count - capacity
                buffers.local.removeFirst(buffers.local.count - capacity)
            }
            if buffers.central.count > capacity {
                lost += buffers.central.count - capacity
                buffers.central.removeFirst(buffers.central.count - capacity)
            }
        }
        if lost > 0 { dropped.add(lost, ordering: .relaxed) }
    }

    /// Points lost to a full buffer or refused by the server.
    public var droppedPoints: Int { dropped.load(ordering: .relaxed) }
    /// Points written.
    public var writtenPoints: Int { written.load(ordering: .relaxed) }

    /// Flushes every ``flushInterval`` until graceful shutdown, then once more.
    public func run() async throws {
        guard isEnabled else {
            try? await gracefulShutdown()
            return
        }
        if let local, local.configuration.api == .v1 {
            // A stack's own 1.x InfluxDB is created on first start; CREATE DATABASE is idempotent.
            _ = await attempt("local") { try await local.createDatabase(local.configuration.database) }
        }
        _ = try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: self.flushInterval)
                await self.flush()
            }
        }
        await flush()
    }

    /// Writes what is buffered now.
    public func flush() async {
        let (localPoints, centralPoints) = buffers.withLock { buffers in
            defer {
                buffers.local.removeAll(keepingCapacity: true)
                buffers.central.removeAll(keepingCapacity: true)
            }
            return (buffers.local, buffers.central)
        }
        if let local, !localPoints.isEmpty { await send(localPoints, to: local, target: "local") }
        if let central, !centralPoints.isEmpty { await send(centralPoints, to: central, target: "central") }
    }

    /// Writes `points`; on a failure that a later attempt can cure they go back to the buffer, on one
    /// it cannot (points the server refuses) they are dropped and counted, so they do not block the rest.
    private func send(_ points: [InfluxPoint], to client: InfluxDBClient, target: String) async {
        guard let error = await attempt(target, { try await client.write(points) }) else {
            written.add(points.count, ordering: .relaxed)
            return
        }
        let refused: [InfluxDBError] = [.rejectedPoints, .badRequest, .invalidPoint, .tooLarge]
        if let influx = error as? InfluxDBError, refused.contains(influx) {
            // A partial write stored the others; the refused ones would be refused again.
            dropped.add(influx == .rejectedPoints ? influx.droppedPoints ?? max(1, influx.rejectedLines.count) : points.count, ordering: .relaxed)
            return
        }
        if target == "local", client.configuration.api == .v1, error as? InfluxDBError == .notFound {
            // The database went missing (or the server was down at start): create it for the next flush.
            _ = await attempt(target) { try await client.createDatabase(client.configuration.database) }
        }
        requeue(points, central: target == "central")
    }

    private func requeue(_ points: [InfluxPoint], central: Bool) {
        buffers.withLock { buffers in
            if central {
                buffers.central = Array((points + buffers.central).suffix(capacity))
            } else {
                buffers.local = Array((points + buffers.local).suffix(capacity))
            }
        }
    }

    /// Runs `body`, logging the first failure of a streak and the recovery; nil on success, else the error.
    private func attempt(_ target: String, _ body: () async throws -> Void) async -> (any Error)? {
        do {
            try await body()
            let recovered = buffers.withLock { $0.failing.remove(target) != nil }
            if recovered { logger.info("InfluxDB writes recovered", metadata: ["target": "\(target)"]) }
            return nil
        } catch {
            let first = buffers.withLock { $0.failing.insert(target).inserted }
            if first {
                logger.info("InfluxDB write failed", metadata: ["target": "\(target)", "error": "\(error)"])
            }
            return error
        }
    }
}
