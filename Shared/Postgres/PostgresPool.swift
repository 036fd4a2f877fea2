import Foundation
import Logging
import Synchronization

/// A bounded pool of PostgreSQL connections, shared by a whole service.
///
/// Connections are made lazily, up to `size`. `withConnection { }` leases one for the body's duration
/// and takes it back afterwards, whatever happens; a caller that finds every connection in use waits
/// up to `acquireTimeout`, then fails with ``PostgresError/acquireTimeout``.
///
/// The pool survives server restarts: a connection that libpq reports bad, that failed with a
/// connection-class SQLSTATE (08xxx, 57P01–57P03), or that was left mid-transaction is closed instead of
/// being reused, and an idle connection is checked before it is handed out (a cheap socket check,
/// plus an empty query when it sat idle for longer than `idleCheckInterval` or the server sent
/// something unprompted). A statement that was running when its connection died throws — the pool
/// never retries it, as it may not be idempotent — but the next one gets a fresh connection.
///
/// libpq's blocking calls run on `size` dedicated threads owned by the pool, never on Swift's
/// cooperative pool. Call ``close()`` before dropping the pool.
public final class PostgresPool: Sendable {
    /// What a waiting acquirer is handed: a connection, or the right to make one.
    private enum Lease: Sendable {
        case connection(PostgresConnection)
        case create
    }

    private struct Waiter {
        var id: Int
        var continuation: CheckedContinuation<Lease, any Error>
        var timeout: Task<Void, Never>
    }

    private struct State {
        var idle: [PostgresConnection] = []
        /// Connections that exist or are being made, idle or leased.
        var open = 0
        var waiters: [Waiter] = []
        var nextID = 0
        var closed = false
        var closeWaiters: [CheckedContinuation<Void, Never>] = []
        var listeners: [Int: PostgresListener] = [:]
    }

    /// Where the pool connects.
    public let configuration: PostgresConfiguration
    /// The most connections the pool holds at once (listeners have their own, outside this limit).
    public let size: Int
    /// How long `withConnection` waits for a free connection.
    public let acquireTimeout: Duration
    /// An idle connection older than this gets a round trip before it is handed out.
    public let idleCheckInterval: Duration
    let logger: Logger
    let threads: PostgresThreadPool
    private let state = Mutex(State())

    /// A pool of at most `size` connections to `configuration`'s server. No connection is made until
    /// the first use.
    public init(
        configuration: PostgresConfiguration, size: Int = 4, acquireTimeout: Duration = .seconds(10),
        idleCheckInterval: Duration = .seconds(30), logger: Logger = Logger(label: "dtp.postgres")
    ) {
        precondition(size > 0, "a PostgreSQL pool needs at least one connection")
        self.configuration = configuration
        self.size = size
        self.acquireTimeout = acquireTimeout
        self.idleCheckInterval = idleCheckInterval
        self.logger = logger
        self.threads = PostgresThreadPool(threads: size, name: "dtp-postgres")
    }

    deinit {
        // The owner should have called close(); this frees the threads and listeners in any case.
        let listeners = state.withLock { Array($0.listeners.values) }
        listeners.forEach { $0.stop() }
        threads.shutdown()
    }

    /// Leases a connection for `body` and takes it back when `body` returns or throws.
    ///
    /// The connection must not escape `body`. If `body` leaves a transaction open or a command
    /// unfinished, the connection is closed rather than reused.
    public func withConnection<T>(
        isolation: isolated (any Actor)? = #isolation, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        let connection = try await acquire()
        do {
            let result = try await body(connection)
            await release(connection)
            return result
        } catch {
            await release(connection)
            throw error
        }
    }

    /// Runs `body` in a transaction: `BEGIN`, then `COMMIT` when it returns, or `ROLLBACK` when it
    /// throws (the error is rethrown). A connection whose rollback fails is discarded.
    @discardableResult
    public func transaction<T>(
        isolation: isolated (any Actor)? = #isolation, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await withConnection { connection in
            try await connection.executeScript("BEGIN")
            let result: T
            do {
                result = try await body(connection)
            } catch {
                do {
                    try await connection.executeScript("ROLLBACK")
                } catch let rollbackError {
                    connection.logger.warning(
                        "ROLLBACK failed; the connection will be discarded",
                        metadata: ["error": "\(rollbackError)"])
                }
                throw error
            }
            try await connection.executeScript("COMMIT")
            return result
        }
    }

    /// Runs a statement on a pooled connection and returns its rows.
    public func query(_ sql: String, _ parameters: [any PostgresEncodable] = []) async throws -> [PostgresRow] {
        try await withConnection { try await $0.query(sql, parameters) }
    }

    /// Runs a statement on a pooled connection and returns the number of rows it affected.
    @discardableResult
    public func execute(_ sql: String, _ parameters: [any PostgresEncodable] = []) async throws -> Int {
        try await withConnection { try await $0.execute(sql, parameters) }
    }

    /// Closes every connection: idle ones at once, leased ones as they come back (this waits for them),
    /// and every listener. Waiting and later acquirers fail with ``PostgresError/poolClosed``.
    public func close() async {
        let (idle, waiters, listeners) = state.withLock { state in
            state.closed = true
            let taken = (state.idle, state.waiters, Array(state.listeners.values))
            state.idle = []
            state.waiters = []
            return taken
        }
        for waiter in waiters {
            waiter.timeout.cancel()
            waiter.continuation.resume(throwing: PostgresError.poolClosed())
        }
        for connection in idle {
            await connection.close()
            slotFreed()
        }
        for listener in listeners {
            listener.stop()
            await listener.waitUntilFinished()
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                guard state.open > 0 else { return true }
                state.closeWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
        threads.shutdown()
        logger.debug("PostgreSQL pool closed")
    }

    // MARK: Leasing

    /// Takes an idle connection (checked first), makes a new one if below `size`, or waits for one.
    func acquire() async throws -> PostgresConnection {
        switch try await reserve() {
        case .create:
            return try await connectInSlot()
        case .connection(let connection):
            let idleFor = ContinuousClock.now - connection.lastReleased.withLock { $0 }
            let roundTrip = idleFor > idleCheckInterval
            if !roundTrip, let healthy = connection.quickHealth() {
                if healthy { return connection }
            } else if await connection.checkHealth(roundTrip: roundTrip) {
                return connection
            }
            logger.info("replacing a PostgreSQL connection that was lost while idle")
            await connection.close()
            return try await connectInSlot()
        }
    }

    /// Makes a connection in a slot the caller holds; gives the slot back if that fails.
    private func connectInSlot() async throws -> PostgresConnection {
        do {
            let connection = try await PostgresConnection.connect(configuration, threads: threads, logger: logger)
            logger.debug("PostgreSQL connection opened", metadata: ["pg_backend_pid": "\(connection.backendPID)"])
            return connection
        } catch {
            slotFreed()
            throw error
        }
    }

    private func reserve() async throws -> Lease {
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Lease, any Error>) in
                enum Outcome {
                    case lease(Lease)
                    case failure(any Error)
                    case waiting
                }
                let timeout = acquireTimeout
                let outcome = state.withLock { state -> Outcome in
                    if state.closed { return .failure(PostgresError.poolClosed()) }
                    if let connection = state.idle.popLast() { return .lease(.connection(connection)) }
                    if state.open < size {
                        state.open += 1
                        return .lease(.create)
                    }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    let timer = Task { [weak self] in
                        do { try await Task.sleep(for: timeout) } catch { return }
                        guard let self else { return }
                        failWaiter(id, with: PostgresError.acquireTimeout(after: timeout, poolSize: size))
                    }
                    state.waiters.append(Waiter(id: id, continuation: continuation, timeout: timer))
                    return .waiting
                }
                switch outcome {
                case .lease(let lease): continuation.resume(returning: lease)
                case .failure(let error): continuation.resume(throwing: error)
                case .waiting: break
                }
            }
        } onCancel: {
            failWaiter(id, with: CancellationError())
        }
    }

    private func failWaiter(_ id: Int, with error: any Error) {
        let waiter = state.withLock { state -> Waiter? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        guard let waiter else { return }
        waiter.timeout.cancel()
        waiter.continuation.resume(throwing: error)
    }

    /// Takes a connection back: to the longest waiter, to the idle list, or closed if it is broken,
    /// mid-transaction, or the pool is closing.
    func release(_ connection: PostgresConnection) async {
        let reusable = connection.isReusable
        if reusable { connection.lastReleased.withLock { $0 = .now } }
        enum Decision {
            case handOver(Waiter)
            case keep
            case discard
        }
        let decision = state.withLock { state -> Decision in
            guard reusable, !state.closed else { return .discard }
            if !state.waiters.isEmpty { return .handOver(state.waiters.removeFirst()) }
            state.idle.append(connection)
            return .keep
        }
        switch decision {
        case .handOver(let waiter):
            waiter.timeout.cancel()
            waiter.continuation.resume(returning: .connection(connection))
            return
        case .keep:
            return
        case .discard:
            break
        }
        if !reusable {
            logger.info("discarding a PostgreSQL connection that is broken or was left mid-transaction")
        }
        await connection.close()
        slotFreed()
    }

    /// A connection is gone (or was never made): its slot goes to the longest waiter, who then makes
    /// one, or is given up.
    private func slotFreed() {
        enum Next {
            case waiter(Waiter)
            case closed([CheckedContinuation<Void, Never>])
            case nothing
        }
        let next = state.withLock { state -> Next in
            if !state.closed, !state.waiters.isEmpty { return .waiter(state.waiters.removeFirst()) }
            state.open -= 1
            if state.closed, state.open == 0 {
                let waiting = state.closeWaiters
                state.closeWaiters = []
                return .closed(waiting)
            }
            return .nothing
        }
        switch next {
        case .waiter(let waiter):
            waiter.timeout.cancel()
            waiter.continuation.resume(returning: .create)
        case .closed(let waiting):
            waiting.forEach { $0.resume() }
        case .nothing:
            break
        }
    }

    // MARK: Listeners

    func register(_ listener: PostgresListener) throws(PostgresError) -> Int {
        try state.withLock { state throws(PostgresError) -> Int in
            guard !state.closed else { throw .poolClosed() }
            state.nextID += 1
            state.listeners[state.nextID] = listener
            return state.nextID
        }
    }

    func unregister(_ id: Int) {
        _ = state.withLock { $0.listeners.removeValue(forKey: id) }
    }
}
