import Foundation
import Synchronization

/// The meeting point of one transfer's producer (curl callbacks on the loop thread) and its consumer
/// (the task awaiting the response or reading the streaming body). All state sits behind one lock.
final class TransferSink: Sendable {
    /// How the body reaches the consumer.
    enum Mode: Sendable {
        /// The whole response at the end.
        case buffered
        /// Head first, then body chunks; curl is paused while more than `highWater` bytes wait unread.
        case streaming(highWater: Int)
    }

    /// What the write callback should tell curl.
    enum WriteResult { case accepted, pause }

    private struct State {
        var head: HTTPResponseHead?
        var headWaiter: CheckedContinuation<HTTPResponseHead, any Error>?
        var body = Data()
        var bodyWaiter: CheckedContinuation<Data?, any Error>?
        var completion: Result<Void, HTTPClientError>?
        var responseWaiter: CheckedContinuation<HTTPResponse, any Error>?
        var paused = false
    }

    let id: UInt64
    let mode: Mode
    private let loop: CurlLoop
    private let state = Mutex(State())

    init(id: UInt64, mode: Mode, loop: CurlLoop) {
        self.id = id
        self.mode = mode
        self.loop = loop
    }

    // MARK: Producer side, on the loop thread.

    /// Whether the transfer already ended (cancelled before curl got it, for instance).
    var isCompleted: Bool { state.withLock { $0.completion != nil } }

    /// The final response head has arrived.
    func deliver(head: HTTPResponseHead) {
        let waiter = state.withLock { state -> CheckedContinuation<HTTPResponseHead, any Error>? in
            state.head = head
            defer { state.headWaiter = nil }
            return state.headWaiter
        }
        waiter?.resume(returning: head)
    }

    /// Body bytes from curl; in streaming mode they are refused (curl pauses) while the consumer lags.
    func write(_ bytes: UnsafeRawBufferPointer) -> WriteResult {
        let (result, waiter, chunk) = state.withLock {
            state -> (WriteResult, CheckedContinuation<Data?, any Error>?, Data?) in
            guard state.completion == nil else { return (.accepted, nil, nil) }
            switch mode {
            case .buffered:
                state.body.append(contentsOf: bytes)
                return (.accepted, nil, nil)
            case .streaming(let highWater):
                if !state.body.isEmpty && state.body.count + bytes.count > highWater {
                    state.paused = true
                    return (.pause, nil, nil)
                }
                if let waiter = state.bodyWaiter {
                    // A waiting consumer implies an empty buffer: hand the bytes straight over.
                    state.bodyWaiter = nil
                    return (.accepted, waiter, Data(bytes))
                }
                state.body.append(contentsOf: bytes)
                return (.accepted, nil, nil)
            }
        }
        if let waiter, let chunk { waiter.resume(returning: chunk) }
        return result
    }

    /// The transfer ended; `head` stands in if no header block was seen (it never is for HTTP/1.x).
    func finish(_ result: Result<Void, HTTPClientError>, head fallbackHead: HTTPResponseHead?) {
        let actions = state.withLock { state -> [() -> Void] in
            guard state.completion == nil else { return [] }
            state.completion = result
            if state.head == nil, case .success = result { state.head = fallbackHead }
            return Self.takeWaiters(&state)
        }
        for action in actions { action() }
    }

    /// Resumes every waiter with the outcome now recorded in `state`.
    private static func takeWaiters(_ state: inout State) -> [() -> Void] {
        var actions: [() -> Void] = []
        let completion = state.completion ?? .failure(.cancelled)
        if let waiter = state.headWaiter {
            state.headWaiter = nil
            switch (completion, state.head) {
            case (.success, let head?): actions.append { waiter.resume(returning: head) }
            case (.failure(let error), _): actions.append { waiter.resume(throwing: error) }
            case (.success, nil): actions.append { waiter.resume(throwing: HTTPClientError.transport) }
            }
        }
        if let waiter = state.bodyWaiter {
            state.bodyWaiter = nil
            switch completion {
            case .success: actions.append { waiter.resume(returning: nil) }
            case .failure(let error): actions.append { waiter.resume(throwing: error) }
            }
        }
        if let waiter = state.responseWaiter {
            state.responseWaiter = nil
            switch (completion, state.head) {
            case (.success, let head?):
                let response = HTTPResponse(status: head.status, headers: head.headers, body: state.body)
                state.body = Data()
                actions.append { waiter.resume(returning: response) }
            case (.failure(let error), _): actions.append { waiter.resume(throwing: error) }
            case (.success, nil): actions.append { waiter.resume(throwing: HTTPClientError.transport) }
            }
        }
        return actions
    }

    // MARK: Consumer side, on any task.

    /// Asks the loop to unpause the transfer (a streamed request body has more bytes).
    func resumeTransfer() {
        _ = loop.submit(.resume(id))
    }

    /// Ends the transfer with ``HTTPClientError/cancelled`` unless it already ended, and tells the loop.
    func cancel() {
        let actions = state.withLock { state -> [() -> Void]? in
            guard state.completion == nil else { return nil }
            state.completion = .failure(.cancelled)
            return Self.takeWaiters(&state)
        }
        guard let actions else { return }
        for action in actions { action() }
        _ = loop.submit(.cancel(id))
    }

    /// The whole response, once the transfer ends (buffered mode).
    func response() async throws -> HTTPResponse {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPResponse, any Error>) in
                state.withLock { state in
                    state.responseWaiter = continuation
                    if state.completion != nil {
                        for action in Self.takeWaiters(&state) { action() }
                    }
                }
            }
        } onCancel: {
            cancel()
        }
    }

    /// The response head, once the header block has arrived (streaming mode).
    func head() async throws -> HTTPResponseHead {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation {
                (continuation: CheckedContinuation<HTTPResponseHead, any Error>) in
                state.withLock { state in
                    if let head = state.head {
                        continuation.resume(returning: head)
                    } else {
                        state.headWaiter = continuation
                        if state.completion != nil {
                            for action in Self.takeWaiters(&state) { action() }
                        }
                    }
                }
            }
        } onCancel: {
            cancel()
        }
    }

    /// The next piece of body (everything buffered so far), or nil at the end (streaming mode).
    func nextChunk() async throws -> Data? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Data?, any Error>) in
                let unpause = state.withLock { state -> Bool in
                    if !state.body.isEmpty {
                        let chunk = state.body
                        state.body = Data()
                        continuation.resume(returning: chunk)
                        defer { state.paused = false }
                        return state.paused
                    }
                    state.bodyWaiter = continuation
                    if state.completion != nil {
                        for action in Self.takeWaiters(&state) { action() }
                    } else if state.paused {
                        // Not expected (pausing needs unread bytes), but never leave curl paused while waiting.
                        state.paused = false
                        return true
                    }
                    return false
                }
                if unpause { _ = loop.submit(.resume(id)) }
            }
        } onCancel: {
            cancel()
        }
    }
}
