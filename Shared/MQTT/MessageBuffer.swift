#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The bounded hand-over between libmosquitto's network thread (producer) and one async consumer.
///
/// The producer runs on a thread that is not Swift's, and when the buffer is full it must wait without
/// spinning, so this uses a pthread mutex and condition variable rather than `Mutex`. The consumer never
/// blocks a thread: it takes every buffered message in one batch, or parks a continuation that the next
/// message resumes. `@unchecked Sendable` is sound because every stored property is read and written only
/// with `mutex` held (the pointers themselves are immutable).
final class MessageBuffer: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let notFull: UnsafeMutablePointer<pthread_cond_t>
    private let capacity: Int
    private var items: [MQTTMessage] = []
    private var waiter: UnsafeContinuation<[MQTTMessage], Never>?
    private var finished = false
    /// The most messages held back from a parked consumer before it is woken anyway.
    private let wakeBatch: Int
    /// How often a consumer that found the buffer empty yields the processor before parking.
    private static let spins = 32

    init(capacity: Int) {
        self.capacity = max(1, capacity)
        wakeBatch = min(self.capacity, 64)
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        notFull = .allocate(capacity: 1)
        pthread_cond_init(notFull, nil)
        items.reserveCapacity(self.capacity)
    }

    deinit {
        pthread_cond_destroy(notFull)
        notFull.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Hands `message` to the consumer, waiting while the buffer is full. Returns false, dropping the
    /// message, only once the buffer is finished (the client is shutting down).
    ///
    /// A parked consumer is woken only when `moreImminent()` says no further message is already waiting to
    /// be read (or a batch is full): a thread wake-up per message would cost more than the message itself.
    /// `moreImminent` must only answer true when another `push` is certain to follow without waiting for the
    /// network.
    func push(_ message: MQTTMessage, moreImminent: () -> Bool) -> Bool {
        pthread_mutex_lock(mutex)
        while !finished && items.count >= capacity && waiter == nil {
            pthread_cond_wait(notFull, mutex)
        }
        if finished {
            pthread_mutex_unlock(mutex)
            return false
        }
        items.append(message)
        guard let waiter, items.count >= wakeBatch || !moreImminent() else {
            pthread_mutex_unlock(mutex)
            return true
        }
        self.waiter = nil
        var batch: [MQTTMessage] = []
        swap(&batch, &items)
        pthread_mutex_unlock(mutex)
        waiter.resume(returning: batch)
        return true
    }

    /// The next batch of messages, in arrival order; empty when the buffer is finished and drained, or
    /// when the waiting task is cancelled.
    func take() async -> [MQTTMessage] {
        pthread_mutex_lock(mutex)
        if let batch = takeLocked() {
            pthread_mutex_unlock(mutex)
            return batch
        }
        pthread_mutex_unlock(mutex)
        // At high rates the next message is microseconds away: parking now would cost a thread wake-up per
        // message, on both sides. Yielding the processor a few times first lets a stream be taken in batches,
        // and costs only a few microseconds when the stream really pauses.
        for _ in 0..<Self.spins {
            sched_yield()
            pthread_mutex_lock(mutex)
            if let batch = takeLocked() {
                pthread_mutex_unlock(mutex)
                return batch
            }
            pthread_mutex_unlock(mutex)
        }
        return await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<[MQTTMessage], Never>) in
                pthread_mutex_lock(mutex)
                if let batch = takeLocked() {
                    pthread_mutex_unlock(mutex)
                    continuation.resume(returning: batch)
                    return
                }
                // Checked under the lock so that a cancellation handler that ran before this finds either
                // the flag set here or the waiter parked below, never neither.
                if Task.isCancelled {
                    pthread_mutex_unlock(mutex)
                    continuation.resume(returning: [])
                    return
                }
                let previous = waiter
                waiter = continuation
                pthread_mutex_unlock(mutex)
                // A second concurrent consumer is not supported; the earlier one is ended rather than leaked.
                previous?.resume(returning: [])
            }
        } onCancel: {
            pthread_mutex_lock(mutex)
            let waiter = self.waiter
            self.waiter = nil
            pthread_mutex_unlock(mutex)
            waiter?.resume(returning: [])
        }
    }

    /// Everything buffered, or `[]` when finished and empty, or nil when the consumer must wait.
    private func takeLocked() -> [MQTTMessage]? {
        if !items.isEmpty {
            var batch: [MQTTMessage] = []
            batch.reserveCapacity(capacity)
            swap(&batch, &items)
            pthread_cond_signal(notFull)
            return batch
        }
        return finished ? [] : nil
    }

    /// Ends the sequence once what is buffered is consumed, and releases a producer waiting for room.
    func finish() {
        pthread_mutex_lock(mutex)
        finished = true
        let waiter = self.waiter
        self.waiter = nil
        pthread_cond_broadcast(notFull)
        // A parked consumer gets what is held back for it, then ends on its next take.
        let batch = waiter == nil ? [] : (takeLocked() ?? [])
        pthread_mutex_unlock(mutex)
        waiter?.resume(returning: batch)
    }
}

/// The inbound messages of an ``MQTTClient``, in arrival order. See ``MQTTClient/messages``.
public struct MQTTMessages: AsyncSequence, Sendable {
    /// Messages, never failing: the sequence ends when the client disconnects.
    public typealias Element = MQTTMessage
    /// The sequence does not throw.
    public typealias Failure = Never

    let buffer: MessageBuffer

    /// An iterator; use one at a time per client.
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(buffer: buffer) }

    /// Hands out a batch taken from the buffer one message at a time, so the lock is taken once per batch.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let buffer: MessageBuffer
        private var batch: [MQTTMessage] = []
        private var index = 0

        init(buffer: MessageBuffer) { self.buffer = buffer }

        /// The next message, or nil when the client disconnected and the buffer is drained, or when the
        /// consuming task was cancelled.
        public mutating func next() async -> MQTTMessage? {
            if index == batch.count {
                batch = await buffer.take()
                index = 0
                if batch.isEmpty { return nil }
            }
            index += 1
            return batch[index - 1]
        }
    }
}
