import CLibPQ
import Foundation
import Logging
import Synchronization

/// The libpq connection handle, owned by exactly one ``PostgresConnection`` and freed exactly once:
/// by ``PostgresConnection/close()`` or, failing that, when the last reference goes.
struct ConnectionHandle: ~Copyable {
    var pointer: OpaquePointer?

    init(_ pointer: OpaquePointer) { self.pointer = pointer }

    mutating func finish() {
        if let pointer { PQfinish(pointer) }
        pointer = nil
    }

    deinit { if let pointer { PQfinish(pointer) } }
}

/// One session with the server, leased from a ``PostgresPool`` for the duration of a
/// `withConnection { }` or `transaction { }` body.
///
/// Every libpq call runs on the pool's dedicated threads, never on Swift's cooperative pool. A
/// connection is used by one task at a time (the lease holder); its methods must not be called
/// concurrently or after the body returns.
public final class PostgresConnection: Sendable {
    /// The libpq handle. The lock is what makes the class Sendable: every use of the pointer happens
    /// inside it, on a worker thread, so libpq never sees two threads on one connection.
    private let handle: Mutex<ConnectionHandle>
    /// Set when libpq or the server reported the connection gone, so the pool discards it on return.
    private let broken = Atomic<Bool>(false)
    /// When the connection was last handed back to the pool, for the idle health check.
    let lastReleased = Mutex<ContinuousClock.Instant>(.now)
    let threads: PostgresThreadPool
    let logger: Logger
    /// The server process serving this session, for logs and `pg_terminate_backend`.
    public let backendPID: Int32

    private init(pointer: sending OpaquePointer, threads: PostgresThreadPool, logger: Logger) {
        backendPID = PQbackendPID(pointer)
        handle = Mutex(ConnectionHandle(pointer))
        self.threads = threads
        var logger = logger
        logger[metadataKey: "pg_backend_pid"] = "\(backendPID)"
        self.logger = logger
    }

    /// Opens a connection on one of `threads`; the blocking connect never touches the cooperative pool.
    static func connect(
        _ configuration: PostgresConfiguration, threads: PostgresThreadPool, logger: Logger
    ) async throws -> PostgresConnection {
        let parameters = configuration.libpqParameters
        return try await threads.run { () throws(PostgresError) -> PostgresConnection in
            let pointer = try openConnection(parameters)
            return PostgresConnection(pointer: pointer, threads: threads, logger: logger)
        }
    }

    /// `PQconnectdbParams`, checked: a handle that did not reach `CONNECTION_OK` is freed here and its
    /// libpq message thrown.
    static func openConnection(_ parameters: [(String, String)]) throws(PostgresError) -> OpaquePointer {
        let keywords = parameters.map { strdup($0.0) }
        let values = parameters.map { strdup($0.1) }
        defer {
            keywords.forEach { free($0) }
            values.forEach { free($0) }
        }
        let cKeywords = keywords.map { UnsafePointer($0) } + [nil]
        let cValues = values.map { UnsafePointer($0) } + [nil]
        guard let pointer = PQconnectdbParams(cKeywords, cValues, 0) else {
            throw .connection("libpq could not allocate a connection")
        }
        guard PQstatus(pointer) == CONNECTION_OK else {
            let message = LibPQ.errorMessage(pointer)
            PQfinish(pointer)
            throw .connection(message)
        }
        // libpq prints notices (and the server's farewell on a terminated session) to stderr by
        // default; services log through swift-log instead, and errors reach callers as PostgresError.
        PQsetNoticeProcessor(pointer, { _, _ in }, nil)
        return pointer
    }

    /// Runs `body` with the libpq handle on a worker thread. An error that means the connection is gone
    /// marks it broken, so the pool replaces it instead of handing it out again.
    func withHandle<T: Sendable>(
        _ body: @escaping @Sendable (OpaquePointer) throws(PostgresError) -> T
    ) async throws -> T {
        try await threads.run { [self] () throws(PostgresError) -> T in
            try handle.withLock { handle throws(PostgresError) -> T in
                guard let pointer = handle.pointer else { throw .connection("the connection is closed") }
                do throws(PostgresError) {
                    return try body(pointer)
                } catch {
                    if error.isConnectionLost || PQstatus(pointer) == CONNECTION_BAD {
                        broken.store(true, ordering: .relaxed)
                    }
                    throw error
                }
            }
        }
    }

    /// Whether the connection can be handed out again: not known broken, libpq still considers it
    /// open, and no transaction or command was left behind by the last holder.
    var isReusable: Bool {
        guard !broken.load(ordering: .relaxed) else { return false }
        return handle.withLock { handle in
            guard let pointer = handle.pointer else { return false }
            return PQstatus(pointer) == CONNECTION_OK && PQtransactionStatus(pointer) == PQTRANS_IDLE
        }
    }

    /// Checks an idle connection before it is handed out. Data on an idle socket means the server spoke
    /// unprompted (typically a termination notice before it closed the socket), so that case and
    /// `roundTrip` both send an empty query to prove the session answers.
    func checkHealth(roundTrip: Bool) async -> Bool {
        let healthy = try? await withHandle { pointer throws(PostgresError) -> Bool in
            guard PQstatus(pointer) == CONNECTION_OK else { return false }
            var descriptor = pollfd(fd: PQsocket(pointer), events: Int16(POLLIN), revents: 0)
            let readable = poll(&descriptor, 1, 0) != 0
            if readable {
                guard PQconsumeInput(pointer) == 1, PQstatus(pointer) == CONNECTION_OK else { return false }
                while let notification = PQnotifies(pointer) { PQfreemem(notification) }
            }
            guard readable || roundTrip else { return true }
            let result = try LibPQ.check(PQexec(pointer, ""), on: pointer)
            PQclear(result)
            return PQstatus(pointer) == CONNECTION_OK
        }
        if healthy != true { broken.store(true, ordering: .relaxed) }
        return healthy == true
    }

    /// The socket check of ``checkHealth(roundTrip:)`` without a round trip, on the calling thread (a poll
    /// with a zero timeout never blocks), which spares a hop to a worker thread on every lease. Returns nil
    /// when the server sent something unprompted: then ``checkHealth(roundTrip:)`` must decide.
    func quickHealth() -> Bool? {
        let healthy = handle.withLock { handle -> Bool? in
            guard let pointer = handle.pointer, PQstatus(pointer) == CONNECTION_OK else { return false }
            var descriptor = pollfd(fd: PQsocket(pointer), events: Int16(POLLIN), revents: 0)
            return poll(&descriptor, 1, 0) == 0 ? true : nil
        }
        if healthy == false { broken.store(true, ordering: .relaxed) }
        return healthy
    }

    /// Closes the session; later calls fail with a connection error. Safe to call more than once.
    func close() async {
        _ = try? await threads.run { [self] in handle.withLock { $0.finish() } }
    }

    /// Closes the session on the calling thread, for when the worker threads are already gone.
    func closeNow() {
        handle.withLock { $0.finish() }
    }
}
