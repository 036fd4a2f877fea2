import Foundation
import Synchronization

/// Moves chunks of a streamed request body from the task that produces them to curl's read callback on
/// the loop thread. The producer waits while `highWater` bytes are unsent; the callback pauses curl when
/// nothing is buffered, and the producer resumes it through the loop once more arrives.
final class UploadPump: Sendable {
    /// What the read callback should tell curl.
    enum ReadResult { case bytes(Int), pause, abort }

    private struct State {
        var chunks: [Data] = []
        var offset = 0
        var buffered = 0
        var finished = false
        var failure: String?
        var cancelled = false
        var curlPaused = false
        var spaceWaiter: CheckedContinuation<Void, Never>?
        var task: Task<Void, Never>?
    }

    private let state = Mutex(State())
    private let highWater: Int

    init(highWater: Int) {
        self.highWater = max(16 * 1024, highWater)
    }

    /// Why the producer failed, if it did.
    var failure: String? { state.withLock { $0.failure } }

    /// Starts pulling from `makeStream`; `resume` asks the loop to unpause the transfer.
    func start(
        _ makeStream: @escaping @Sendable () -> AsyncThrowingStream<Data, any Error>,
        resume: @escaping @Sendable () -> Void
    ) {
        let task = Task { [self] in
            do {
                for try await chunk in makeStream() {
                    guard !chunk.isEmpty else { continue }
                    await waitForSpace()
                    let (stop, wake) = state.withLock { state -> (Bool, Bool) in
                        guard !state.cancelled else { return (true, false) }
                        state.chunks.append(chunk)
                        state.buffered += chunk.count
                        defer { state.curlPaused = false }
                        return (false, state.curlPaused)
                    }
                    if wake { resume() }
                    if stop { return }
                }
                end(failure: nil, resume)
            } catch {
                end(failure: "request body stream failed: \(error)", resume)
            }
        }
        state.withLock { $0.task = task }
    }

    private func end(failure: String?, _ resume: @Sendable () -> Void) {
        let wake = state.withLock { state -> Bool in
            state.finished = true
            state.failure = failure
            defer { state.curlPaused = false }
            return state.curlPaused
        }
        if wake { resume() }
    }

    private func waitForSpace() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state -> Bool in
                if state.cancelled || state.buffered < highWater { return true }
                state.spaceWaiter = continuation
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// curl's read callback: copies buffered bytes into `buffer`, or says to pause, end or abort.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> ReadResult {
        let (result, waiter) = state.withLock { state -> (ReadResult, CheckedContinuation<Void, Never>?) in
            if state.failure != nil || state.cancelled { return (.abort, nil) }
            guard !state.chunks.isEmpty else {
                if state.finished { return (.bytes(0), nil) }
                state.curlPaused = true
                return (.pause, nil)
            }
            var written = 0
            while written < buffer.count, !state.chunks.isEmpty {
                let chunk = state.chunks[0]
                let count = min(buffer.count - written, chunk.count - state.offset)
                chunk.withUnsafeBytes { bytes in
                    let start = bytes.baseAddress! + state.offset
                    (buffer.baseAddress! + written).copyMemory(from: start, byteCount: count)
                }
                written += count
                state.offset += count
                if state.offset == chunk.count {
                    state.chunks.removeFirst()
                    state.offset = 0
                }
            }
            state.buffered -= written
            var waiter: CheckedContinuation<Void, Never>?
            if state.buffered < highWater {
                waiter = state.spaceWaiter
                state.spaceWaiter = nil
            }
            return (.bytes(written), waiter)
        }
        waiter?.resume()
        return result
    }

    /// The transfer is over: stop the producer and free what it buffered.
    func cancel() {
        let (waiter, task) = state.withLock { state -> (CheckedContinuation<Void, Never>?, Task<Void, Never>?) in
            state.cancelled = true
            state.chunks = []
            state.buffered = 0
            defer { state.spaceWaiter = nil }
            return (state.spaceWaiter, state.task)
        }
        waiter?.resume()
        task?.cancel()
    }
}
