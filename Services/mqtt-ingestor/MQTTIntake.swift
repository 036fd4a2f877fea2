import DTPMQTT
import CoreMetrics
import Foundation
import Logging
import ServiceLifecycle

/// The broker side: connects with a persistent session, keeps the shared subscriptions equal to the
/// catalog's filters, and appends every message to the spool on libmosquitto's loop thread (before its
/// PUBACK can leave; see ``Journal``).
struct MQTTIntake: Service {
    let client: MQTTClient
    let journal: Journal
    let catalog: CatalogStore
    let group: String
    let metrics: IngestorMetrics
    let logger: Logger

    /// The client whose receiver appends to `journal`.
    static func makeClient(
        configuration: MQTTConfiguration, journal: Journal, metrics: IngestorMetrics, logger: Logger
    ) throws -> MQTTClient {
        try MQTTClient(configuration: configuration, logger: logger) { message in
            let record = JournalRecord(
                topic: message.topic, payload: message.payload, receivedAt: BatchWriter.nowMicros(),
                qos: UInt8(message.qos.rawValue))
            guard journal.append(record) else { return false }
            metrics.received.increment()
            return true
        }
    }

    /// The shared subscription of `filter` for this group.
    func shared(_ filter: String) -> String { MQTTClient.sharedSubscription(group: group, filter: filter) }

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
                logger.info("connected to the broker", metadata: ["clientID": "\(client.configuration.clientID)"])
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
        defer { retry.cancel() }
        for await _ in changes {
            if journal.isClosed { break }
            let wanted = catalog.catalog.filters
            for filter in wanted.subtracting(current).sorted() {
                do {
                    try await client.subscribe(to: shared(filter), qos: .atLeastOnce)
                    current.insert(filter)
                    logger.info("subscribed", metadata: ["filter": "\(filter)"])
                } catch {
                    logger.debug("subscribe failed; will retry", metadata: ["filter": "\(filter)", "error": "\(error)"])
                }
            }
            for filter in current.subtracting(wanted).sorted() {
                do {
                    try await client.unsubscribe(from: shared(filter))
                    current.remove(filter)
                    logger.info("unsubscribed", metadata: ["filter": "\(filter)"])
                } catch {
                    logger.debug("unsubscribe failed; will retry", metadata: ["filter": "\(filter)", "error": "\(error)"])
                }
            }
            metrics.subscriptions.record(current.count)
        }
    }
}
