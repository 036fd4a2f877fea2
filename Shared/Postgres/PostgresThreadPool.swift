import Dispatch
import Foundation
import Synchronization

/// A few dedicated threads for libpq's blocking calls, so they never hold up Swift's cooperative pool.
///
/// Jobs are closures run in arrival order by whichever thread is free; callers await their result
/// through a continuation. The pool is sized like the connection pool, so every leased connection can
/// have a thread at once.
final class PostgresThreadPool: Sendable {
    private enum Item {
        case job(@Sendable () -> Void)
        case stop
    }

    private struct State {
        var queue: [Item] = []
        var head = 0
        var stopped = false
    }

    private let state = Mutex(State())
    private let available = DispatchSemaphore(value: 0)
    private let threadCount: Int

    /// Starts `threads` threads named `name`.
    init(threads: Int, name: String) {
        threadCount = max(1, threads)
        for index in 0..<threadCount {
            let thread = Thread { [self] in self.runLoop() }
            thread.name = "\(name)-\(index)"
            thread.start()
        }
    }

    private func runLoop() {
        while true {
            available.wait()
            let item = state.withLock { state -> Item in
                let item = state.queue[state.head]
                state.head += 1
                if state.head > 64, state.head * 2 > state.queue.count {
                    state.queue.removeFirst(state.head)
                    state.head = 0
                }
                return item
            }
            switch item {
            case .job(let job): job()
            case .stop: return
            }
        }
    }

    /// Runs `body` on one of the pool's threads and returns its result.
    func run<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let accepted = state.withLock { state -> Bool in
                guard !state.stopped else { return false }
                state.queue.append(
                    .job {
                        do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
                    })
                return true
            }
            if accepted {
                available.signal()
            } else {
                continuation.resume(throwing: PostgresError.poolClosed("the PostgreSQL worker threads have stopped"))
            }
        }
    }

    /// Lets the threads finish the jobs already queued, then end. The threads hold the pool until they
    /// end, so the owner must call this; later jobs fail with ``PostgresError/poolClosed``.
    func shutdown() {
        let first = state.withLock { state -> Bool in
            guard !state.stopped else { return false }
            state.stopped = true
            for _ in 0..<threadCount { state.queue.append(.stop) }
            return true
        }
        guard first else { return }
        for _ in 0..<threadCount { available.signal() }
    }
}
