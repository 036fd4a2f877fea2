import DTPMQTT
import Logging
import CoreMetrics
import Metrics
import ServiceLifecycle
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Publishes a generator's messages over MQTT and keeps simulating through broker outages.
///
/// The tick loop never waits for the network: ``send(_:)`` only queues. Workers publish from the
/// queues while the client is connected. QoS 1 messages (alerts, events) wait in a bounded queue while
/// the broker is away and go out after the reconnect; when that queue is full the newest message is
/// refused and counted in ``Statistics/overflow``, never dropped silently. QoS 0 messages (telemetry)
/// are only worth sending now: while disconnected they are dropped and counted.
///
/// It is a `Service`: `run()` connects (retrying with backoff while the broker is down; libmosquitto
/// reconnects by itself after that) and runs the workers until graceful shutdown, which gives queued
/// QoS 1 messages ``drainTimeout`` to go out.
public final class TwinPublisher: Service, Sendable {
    /// What the publisher did so far.
    public struct Statistics: Sendable, Equatable, Codable {
        /// QoS 0 messages the broker took.
        public var publishedQoS0: Int
        /// QoS 1 messages the broker acknowledged.
        public var publishedQoS1: Int
        /// QoS 1 messages refused because the queue was full.
        public var overflow: Int
        /// QoS 0 messages dropped while disconnected or with a full queue.
        public var droppedQoS0: Int
        /// Messages the broker rejected (an MQTT 5 reason code), which retrying cannot fix.
        public var rejected: Int
        /// QoS 1 messages waiting now.
        public var queuedQoS1: Int

        enum CodingKeys: String, CodingKey {
            case publishedQoS0 = "published_qos0", publishedQoS1 = "published_qos1", overflow
            case droppedQoS0 = "dropped_qos0", rejected, queuedQoS1 = "queued_qos1"
        }
    }

    /// The MQTT client; exposed for its connection state.
    public let client: MQTTClient
    /// At most this many QoS 1 messages wait at once.
    public let queueCapacity: Int
    /// At most this many QoS 0 messages wait at once (they are only queued while connected).
    public let qos0Capacity: Int
    /// How many publications may await the broker at once.
    public let window: Int
    /// How long graceful shutdown waits for queued QoS 1 messages.
    public let drainTimeout: Duration
    let logger: Logger
    let state = Mutex(QueueState())
    let counters = Counters()

    struct QueueState {
        var qos1 = FIFO<OutboundMessage>()
        var qos0 = FIFO<OutboundMessage>()
        var waiters: [UInt64: CheckedContinuation<OutboundMessage?, Never>] = [:]
        var nextWaiter: UInt64 = 0
        var closing = false
        var inFlight = 0
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
    }

    final class Counters: Sendable {
        let published0 = Atomic<Int>(0)
        let published1 = Atomic<Int>(0)
        let overflow = Atomic<Int>(0)
        let dropped0 = Atomic<Int>(0)
        let rejected = Atomic<Int>(0)
        let publishedMetric0 = Counter(label: "mqtt_published_total", dimensions: [("qos", "0")])
        let publishedMetric1 = Counter(label: "mqtt_published_total", dimensions: [("qos", "1")])
        let overflowMetric = Counter(label: "mqtt_queue_overflow_total")
        let droppedMetric = Counter(label: "mqtt_dropped_qos0_total")
    }

    /// A publisher over a new client for `configuration`.
    public init(
        configuration: MQTTConfiguration, queueCapacity: Int = 10_000, qos0Capacity: Int = 1_000,
        window: Int = 16, drainTimeout: Duration = .seconds(5), logger: Logger
    ) throws {
        self.client = try MQTTClient(configuration: configuration, logger: logger)
        self.queueCapacity = max(1, queueCapacity)
        self.qos0Capacity = max(1, qos0Capacity)
        self.window = max(1, window)
        self.drainTimeout = drainTimeout
        self.logger = logger
    }

    /// Queues `message`; returns false when it was dropped (QoS 0) or refused for overflow (QoS 1).
    @discardableResult
    public func send(_ message: OutboundMessage) -> Bool {
        let connected = client.isConnected
        let (accepted, waiter) = state.withLock { state -> (Bool, CheckedContinuation<OutboundMessage?, Never>?) in
            if message.qos == .atMostOnce {
                guard connected, state.qos0.count < qos0Capacity, !state.closing else { return (false, nil) }
            } else {
                guard state.qos1.count < queueCapacity else { return (false, nil) }
            }
            if let key = state.waiters.keys.first, let waiter = state.waiters.removeValue(forKey: key) {
                state.inFlight += 1
                return (true, waiter)
            }
            if message.qos == .atMostOnce { state.qos0.append(message) } else { state.qos1.append(message) }
            return (true, nil)
        }
        if let waiter {
            waiter.resume(returning: message)
        } else if !accepted {
            if message.qos == .atMostOnce {
                counters.dropped0.add(1, ordering: .relaxed)
                counters.droppedMetric.increment()
            } else {
                counters.overflow.add(1, ordering: .relaxed)
                counters.overflowMetric.increment()
            }
        }
        return accepted
    }

    /// The counts so far.
    public var statistics: Statistics {
        Statistics(
            publishedQoS0: counters.published0.load(ordering: .relaxed),
            publishedQoS1: counters.published1.load(ordering: .relaxed),
            overflow: counters.overflow.load(ordering: .relaxed),
            droppedQoS0: counters.dropped0.load(ordering: .relaxed),
            rejected: counters.rejected.load(ordering: .relaxed),
            queuedQoS1: state.withLock { $0.qos1.count })
    }

    /// Returns once nothing is queued or in flight (at once if that is so now).
    public func waitUntilIdle() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let idle = state.withLock { state -> Bool in
                if state.qos0.isEmpty && state.qos1.isEmpty && state.inFlight == 0 { return true }
                state.idleWaiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }
}

extension TwinPublisher {
    /// Waits until the client is connected, for at most `timeout`; true when it is.
    public func waitForConnection(within timeout: Duration) async -> Bool {
        if client.isConnected { return true }
        let client = self.client
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await state in client.connectionStateChanges() where state == .connected { return true }
                return false
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }
}
