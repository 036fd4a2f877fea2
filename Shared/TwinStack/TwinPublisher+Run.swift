import DTPMQTT
import Logging
import ServiceLifecycle
import Synchronization
import CoreMetrics

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension TwinPublisher {
    /// Connects and publishes until graceful shutdown (or cancellation), then disconnects.
    public func run() async throws {
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.connectUntilAccepted() }
                for _ in 0..<window {
                    group.addTask { await self.work() }
                }
                await group.waitForAll()
            }
        } onGracefulShutdown: {
            self.close()
        }
        let left = state.withLock { $0.qos1.count }
        if left > 0 {
            logger.warning("shutting down with unsent QoS 1 messages", metadata: ["count": "\(left)"])
        }
        await client.disconnect()
    }

    /// Stops taking work: workers finish what is queued, for at most ``drainTimeout``.
    func close() {
        let waiters = state.withLock { state in
            state.closing = true
            state.qos0.removeAll()
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: nil) }
        let client = self.client
        let timeout = drainTimeout
        Task {
            try? await Task.sleep(for: timeout)
            // Whatever still waits for the broker now fails with `shutDown`, which ends the workers.
            await client.disconnect()
        }
    }

    /// The first connection, retried with backoff while the broker is down; afterwards libmosquitto
    /// keeps the connection up on its own.
    private func connectUntilAccepted() async {
        var delay = Duration.milliseconds(500)
        var failures = 0
        while !Task.isCancelled && !state.withLock({ $0.closing }) {
            do {
                try await client.connect()
                if failures > 0 { logger.info("connected to the MQTT broker", metadata: ["attempts": "\(failures + 1)"]) }
                return
            } catch {
                if failures == 0 {
                    logger.info("MQTT broker unreachable; retrying", metadata: ["error": "\(error)"])
                }
                failures += 1
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(10))
            }
        }
    }

    /// One worker: takes messages and publishes them, waiting for the connection when it is down.
    private func work() async {
        while let message = await nextMessage() {
            await deliver(message)
            let idle = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                state.inFlight -= 1
                guard state.qos0.isEmpty && state.qos1.isEmpty && state.inFlight == 0 else { return [] }
                defer { state.idleWaiters.removeAll() }
                return state.idleWaiters
            }
            for waiter in idle { waiter.resume() }
        }
    }

    /// The next message, QoS 1 first; nil once closing with nothing left, or when cancelled.
    private func nextMessage() async -> OutboundMessage? {
        let clientClosed = client.connectionState == .closed
        let id = state.withLock { state -> UInt64 in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<OutboundMessage?, Never>) in
                let ready = state.withLock { state -> OutboundMessage?? in
                    // After the drain timeout the client is closed: what is left stays unsent.
                    if state.closing && clientClosed { return .some(nil) }
                    if let message = state.qos1.popFirst() ?? state.qos0.popFirst() {
                        state.inFlight += 1
                        return .some(message)
                    }
                    if state.closing || Task.isCancelled { return .some(nil) }
                    state.waiters[id] = continuation
                    return .none
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume(returning: nil)
        }
    }

    /// Publishes `message`; a QoS 1 message is retried after each reconnect until the broker has it or
    /// the client is closed (then it goes back to the front of the queue).
    private func deliver(_ message: OutboundMessage) async {
        while true {
            if !client.isConnected {
                if message.qos == .atMostOnce {
                    countDropped()
                    return
                }
                // Publishing while disconnected would leave a copy in libmosquitto's own, unbounded queue.
                guard await waitUntilConnected() else {
                    requeue(message)
                    return
                }
            }
            do {
                try await client.publish(message.payload, to: message.topic, qos: message.qos)
                if message.qos == .atMostOnce {
                    counters.published0.add(1, ordering: .relaxed)
                    counters.publishedMetric0.increment()
                } else {
                    counters.published1.add(1, ordering: .relaxed)
                    counters.publishedMetric1.increment()
                }
                return
            } catch let error as MQTTError where error.reasonCode != nil || error == .payloadTooLarge {
                counters.rejected.add(1, ordering: .relaxed)
                logger.warning("broker rejected a message", metadata: ["topic": "\(message.topic)", "error": "\(error)"])
                return
            } catch {
                if message.qos == .atMostOnce {
                    countDropped()
                    return
                }
                if client.connectionState == .closed {
                    requeue(message)
                    return
                }
                // The connection dropped between the check and the send: wait for it to come back.
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    private func countDropped() {
        counters.dropped0.add(1, ordering: .relaxed)
        counters.droppedMetric.increment()
    }

    private func requeue(_ message: OutboundMessage) {
        state.withLock { $0.qos1.prepend(message) }
    }

    /// Waits until the client is connected; false when it was closed or the task cancelled.
    private func waitUntilConnected() async -> Bool {
        for await current in client.connectionStateChanges() {
            if current == .connected { return true }
            if current == .closed { return false }
        }
        return false
    }
}
