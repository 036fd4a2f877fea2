import DTPHTTP
import DTPInfluxDB
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Writes a generator's points to the stack's own InfluxDB and mirrors alerts to the central one.
///
/// The tick loop only appends to a bounded buffer; this service flushes it every second, so a slow or
/// absent InfluxDB never holds up the simulation. When the buffer is full the oldest points go and
/// are counted (``droppedPoints``). Failures are logged once per streak.
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
        local: InfluxDBConfiguration?, central: InfluxDBConfiguration?, http: HTTPClient, logger: Logger,
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

    /// Points lost to a full buffer.
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
        if let local, !localPoints.isEmpty {
            if await attempt("local", { try await local.write(localPoints) }) {
                written.add(localPoints.count, ordering: .relaxed)
            } else {
                requeue(localPoints, central: false)
            }
        }
        if let central, !centralPoints.isEmpty {
            if await attempt("central", { try await central.write(centralPoints) }) {
                written.add(centralPoints.count, ordering: .relaxed)
            } else {
                requeue(centralPoints, central: true)
            }
        }
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

    /// Runs `body`, logging the first failure of a streak and the recovery; true on success.
    private func attempt(_ target: String, _ body: () async throws -> Void) async -> Bool {
        do {
            try await body()
            let recovered = buffers.withLock { $0.failing.remove(target) != nil }
            if recovered { logger.info("InfluxDB writes recovered", metadata: ["target": "\(target)"]) }
            return true
        } catch {
            let first = buffers.withLock { $0.failing.insert(target).inserted }
            if first {
                logger.info("InfluxDB write failed; retrying", metadata: ["target": "\(target)", "error": "\(error)"])
            }
            return false
        }
    }
}
