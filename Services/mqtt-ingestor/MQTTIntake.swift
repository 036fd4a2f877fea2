import CoreMetrics
import DTPMQTT
import Foundation
import Logging
import ServiceLifecycle

/// What the intake needs of a broker connection: ``StreamSubscriber`` (plain TCP, MQTT 5) or libmosquitto's
/// ``MQTTClient`` (TLS, older protocol versions).
protocol IntakeConnection: Sendable {
    var clientID: String { get }
    var isConnected: Bool { get }
    func connect() async throws
    func subscribe(to filter: String) async throws
    func unsubscribe(from filter: String) async throws
    func connectionStateChanges() -> AsyncStream<MQTTConnectionState>
    func disconnect() async
}

extension StreamSubscriber: IntakeConnection {
    var clientID: String { configuration.clientID }
}

extension MQTTClient: IntakeConnection {
    var clientID: String { configuration.clientID }

    func subscribe(to filter: String) async throws {
        try await subscribe(to: filter, qos: .atLeastOnce)
    }
}

/// The broker side: connects with a persistent session, keeps the shared subscriptions equal to the
/// catalog's filters, and appends every message to the spool on the connection's thread (before its
/// PUBACK can leave; see ``Journal``).
struct MQTTIntake: Service {
    let client: any IntakeConnection
    let journal: Journal
    let catalog: CatalogStore
    /// The shared subscription group, or nil for plain subscriptions (`DTP_INGEST_SHARED=false`).
    let group: String?
    let metrics: IngestorMetrics
    let logger: Logger

    /// The connection whose receiver appends to `journal`: the stream subscriber where it serves the
    /// configuration (unless `alwaysLibmosquitto`), else libmosquitto.
    static func makeClient(
        configuration: MQTTConfiguration, alwaysLibmosquitto: Bool = false, journal: Journal,
        metrics: IngestorMetrics, logger: Logger
    ) throws -> any IntakeConnection {
        if !alwaysLibmosquitto, StreamSubscriber.supports(configuration) {
            return StreamSubscriber(configuration: configuration, logger: logger) { messages in
                let receivedAt = BatchWriter.nowMicros()
                let records = messages.map {
                    JournalRecord(topic: $0.topic, payload: $0.payload, receivedAt: receivedAt, qos: $0.qos)
                }
                guard journal.append(records) else { return false }
                metrics.received.increment(by: records.count)
                return true
            }
        }
        return try MQTTClient(configuration: configuration, logger: logger) { message in
            let record = JournalRecord(
                topic: message.topic, payload: message.payload, receivedAt: BatchWriter.nowMicros(),
                qos: UInt8(message.qos.rawValue))
            guard journal.append(record) else { return false }
            metrics.received.increment()
            return true
        }
    }

    /// The subscription of `filter`: shared in the group, or plain.
    func shared(_ filter: String) -> String {
        guard let group else { return filter }
        return MQTTClient.sharedSubscription(group: group, filter: filter)
    }

    func run() async throws {
        await withGracefulShutdownHandler {
            await connect()
            await reconcileSubscriptions()
        } onGracefulShutdown: {
            // The spool first: a receiver waiting for room is released (its message stays with the
            // broker), so that disconnecting can join libmosquitto's thread.
            journal.close()
        }
        journal.close()
        await client.disconnect()
    }

    /// Connects, retrying with backoff until the broker answers or shutdown begins; libmosquitto
    /// reconnects by itself afterwards.
    private func connect() async {
        var delay = Duration.milliseconds(250)
        while !journal.isClosed {
            do {
                try await client.connect()
                logger.info("connected to the broker", metadata: ["clientID": "\(client.clientID)"])
                return
            } catch {
                logger.warning("cannot connect to the broker; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    /// Subscribes to new filters and unsubscribes from gone ones whenever the catalog changes; a failed
    /// request is retried every second.
    private func reconcileSubscriptions() async {
        var current = Set<String>()
        let changes = catalog.changes()
        let retry = Task {
            // Wakes the loop below while something is left to do, so failures are retried.
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                catalog.touch()
            }
        }
        // Mosquitto 2.0 does not restore shared subscriptions from its persistence file after a restart,
        // although it reports the session present: every reconnect subscribes to everything again (for
        // a subscription the broker still has, that is harmless).
        let reconnected = StopFlag()
        let observer = Task {
            var wasConnected = false
            for await state in client.connectionStateChanges() {
                if state == .connected {
                    if wasConnected {
                        reconnected.set()
                        catalog.touch()
                    }
                    wasConnected = true
                }
            }
        }
        defer {
            retry.cancel()
            observer.cancel()
        }
        for await _ in changes {
            if journal.isClosed { break }
            if reconnected.take() {
                logger.info("reconnected to the broker; subscribing again", metadata: ["filters": "\(current.count)"])
                current = []
            }
            let wanted = catalog.catalog.filters
            for filter in wanted.subtracting(current).sorted() {
                do {
                    try await client.subscribe(to: shared(filter))
                    current.insert(filter)
                    logger.info("subscribed", metadata: ["filter": "\(filter)"])
                } catch {
                    logger.debug(
                        "subscribe failed; will retry", metadata: ["filter": "\(filter)", "error": "\(error)"])
                }
            }
            for filter in current.subtracting(wanted).sorted() {
                do {
                    try await client.unsubscribe(from: shared(filter))
                    current.remove(filter)
                    logger.info("unsubscribed", metadata: ["filter": "\(filter)"])
                } catch {
                    logger.debug(
                        "unsubscribe failed; will retry", metadata: ["filter": "\(filter)", "error": "\(error)"])
                }
            }
            metrics.subscriptions.record(current.count)
        }
    }
}
