import CLibPQ
import Foundation
import Logging
import Synchronization

/// A notification delivered by `NOTIFY` or `pg_notify`.
public struct PostgresNotification: Sendable, Hashable {
    /// The channel it was sent on.
    public let channel: String
    /// The payload; empty when none was given.
    public let payload: String
    /// The process ID of the server backend that sent it.
    public let pid: Int32
}

/// The notifications of one channel, as an async sequence; see ``PostgresPool/listen(_:bufferLimit:)``.
///
/// The sequence ends when the pool closes. Cancelling the task that iterates it, or dropping the
/// sequence, stops the listener and closes its connection.
public struct PostgresNotifications: AsyncSequence, Sendable {
    /// The notifications.
    public typealias Element = PostgresNotification

    let stream: AsyncStream<PostgresNotification>

    /// Iterates the notifications as they arrive.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncStream<PostgresNotification>.Iterator

        /// The next notification, or nil once the listener has stopped.
        public mutating func next() async -> PostgresNotification? { await base.next() }

        /// The next notification, or nil once the listener has stopped.
        public mutating func next(
            isolation actor: isolated (any Actor)?
        ) async -> PostgresNotification? {
            await base.next(isolation: actor)
        }
    }

    /// An iterator over the notifications.
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: stream.makeAsyncIterator()) }
}

extension PostgresPool {
    /// Listens on `channel` over a dedicated connection (outside the pool's `size`) and returns its
    /// notifications. Returns once `LISTEN` has taken effect, so a `NOTIFY` sent afterwards is seen.
    ///
    /// If the connection is lost (the server restarts, say) the listener reconnects with backoff and
    /// issues `LISTEN` again by itself. Notifications sent while it was disconnected are lost: PostgreSQL
    /// does not keep them for absent listeners, which is why DTP treats a notification only as a hint
    /// to read its outbox table, never as the data itself. At most `bufferLimit` unread notifications
    /// are kept; beyond that the oldest are dropped, for the same reason.
    public func listen(_ channel: String, bufferLimit: Int = 10_000) async throws -> PostgresNotifications {
        let (stream, continuation) = AsyncStream.makeStream(
            of: PostgresNotification.self, bufferingPolicy: .bufferingNewest(bufferLimit))
        var logger = self.logger
        logger[metadataKey: "pg_channel"] = "\(channel)"
        let listener = try PostgresListener(
            channel: channel, parameters: configuration.libpqParameters, continuation: continuation, logger: logger)
        let id: Int
        do {
            id = try register(listener)
        } catch {
            listener.stop()
            throw error
        }
        continuation.onTermination = { [weak self] _ in
            listener.stop()
            self?.unregister(id)
        }
        do {
            try await listener.start()
        } catch {
            continuation.finish()
            throw error
        }
        return PostgresNotifications(stream: stream)
    }

    /// Sends `payload` on `channel` (`pg_notify`), delivered to listeners when the current transaction
    /// commits (at once outside a transaction).
    public func notify(_ channel: String, payload: String = "") async throws {
        try await withConnection { try await $0.notify(channel, payload: payload) }
    }
}

extension PostgresConnection {
    /// Sends `payload` on `channel` (`pg_notify`), delivered when this connection's transaction commits.
    public func notify(_ channel: String, payload: String = "") async throws {
        try await execute("SELECT pg_notify($1, $2)", [channel, payload])
    }
}

/// The thread behind one ``PostgresNotifications``: owns a connection, waits on its socket with
/// `poll()` (together with a pipe that `stop()` writes to), and reconnects when the connection is lost.
final class PostgresListener: Sendable {
    private struct State {
        var stopped = false
        var pipeOpen = true
        var finished = false
        var finishWaiters: [CheckedContinuation<Void, Never>] = []
        var ready: CheckedContinuation<Void, any Error>?
    }

    let channel: String
    private let parameters: [(String, String)]
    private let continuation: AsyncStream<PostgresNotification>.Continuation
    private let logger: Logger
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let state = Mutex(State())

    init(
        channel: String, parameters: [(String, String)],
        continuation: AsyncStream<PostgresNotification>.Continuation, logger: Logger
    ) throws(PostgresError) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw .connection("cannot create the listener's wake-up pipe: errno \(errno)") }
        _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)
        self.channel = channel
        self.parameters = parameters
        self.continuation = continuation
        self.logger = logger
        wakeRead = fds[0]
        wakeWrite = fds[1]
    }

    /// Starts the thread and waits until the first `LISTEN` succeeded (or failed: then it throws).
    func start() async throws {
        try await withCheckedThrowingContinuation { (ready: CheckedContinuation<Void, any Error>) in
            state.withLock { $0.ready = ready }
            let thread = Thread { [self] in self.run() }
            thread.name = "dtp-postgres-listen"
            thread.start()
        }
    }

    /// Asks the thread to end; it closes its connection and finishes the sequence. Idempotent.
    func stop() {
        state.withLock { state in
            guard !state.stopped else { return }
            state.stopped = true
            if state.pipeOpen {
                var byte: UInt8 = 1
                _ = write(wakeWrite, &byte, 1)
            }
        }
    }

    /// Returns once the thread has ended and its connection is closed.
    func waitUntilFinished() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if state.finished { return true }
                state.finishWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    private var isStopped: Bool { state.withLock { $0.stopped } }

    private func signalReady(_ error: PostgresError?) {
        guard let ready = state.withLock({ state -> CheckedContinuation<Void, any Error>? in
            defer { state.ready = nil }
            return state.ready
        }) else { return }
        if let error { ready.resume(throwing: error) } else { ready.resume() }
    }

    private func run() {
        var backoff: Int32 = 100
        var everListened = false
        while !isStopped {
            let connection: OpaquePointer
            do {
                connection = try PostgresConnection.openConnection(parameters)
            } catch {
                guard everListened else {
                    signalReady(error)
                    break
                }
                logger.warning("PostgreSQL listener cannot reconnect; retrying", metadata: ["error": "\(error)"])
                if waitForWakeUp(milliseconds: backoff) { break }
                backoff = min(backoff * 2, 5_000)
                continue
            }
            do {
                let sql = "LISTEN " + PostgresConnection.quoteIdentifier(channel)
                PQclear(try LibPQ.check(PQexec(connection, sql), on: connection))
            } catch {
                PQfinish(connection)
                guard everListened else {
                    signalReady(error)
                    break
                }
                logger.warning("PostgreSQL listener cannot LISTEN; retrying", metadata: ["error": "\(error)"])
                if waitForWakeUp(milliseconds: backoff) { break }
                backoff = min(backoff * 2, 5_000)
                continue
            }
            if everListened {
                logger.info("PostgreSQL listener reconnected; notifications sent meanwhile were lost")
            } else {
                everListened = true
                signalReady(nil)
            }
            backoff = 100
            let stoppedWhileListening = pump(connection)
            PQfinish(connection)
            if stoppedWhileListening { break }
            logger.warning("PostgreSQL listener lost its connection; reconnecting")
        }
        continuation.finish()
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.stopped = true
            state.finished = true
            state.pipeOpen = false
            close(wakeRead)
            close(wakeWrite)
            defer { state.finishWaiters = [] }
            return state.finishWaiters
        }
        waiters.forEach { $0.resume() }
    }

    /// Delivers notifications until the connection is lost (returns false) or `stop()` is called (true).
    private func pump(_ connection: OpaquePointer) -> Bool {
        while true {
            var fds = [
                pollfd(fd: PQsocket(connection), events: Int16(POLLIN), revents: 0),
                pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&fds, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                logger.warning("poll() failed on the listener's socket", metadata: ["errno": "\(errno)"])
                return isStopped
            }
            if fds[1].revents != 0 || isStopped { return true }
            guard fds[0].revents != 0 else { continue }
            if PQconsumeInput(connection) == 0 {
                logger.debug("listener connection failed", metadata: ["error": "\(LibPQ.errorMessage(connection))"])
                return false
            }
            while let raw = PQnotifies(connection) {
                let notification = PostgresNotification(
                    channel: String(cString: raw.pointee.relname),
                    payload: raw.pointee.extra.map { String(cString: $0) } ?? "",
                    pid: raw.pointee.be_pid)
                PQfreemem(raw)
                if case .dropped = continuation.yield(notification) {
                    logger.warning("PostgreSQL listener buffer full; dropped the oldest notification")
                }
            }
            if PQstatus(connection) == CONNECTION_BAD { return false }
        }
    }

    /// Sleeps up to `milliseconds`, waking early when stopped; returns whether it was stopped.
    private func waitForWakeUp(milliseconds: Int32) -> Bool {
        var descriptor = pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)
        _ = poll(&descriptor, 1, milliseconds)
        return isStopped
    }
}
