import DTPModel
import DTPPostgres
import Foundation
import Logging
import Synchronization

/// Writes batches of mapped messages to the `telemetry` schema in one transaction, so a message that
/// arrives again (redelivery, spool replay) is stored once. `stream_last_seen` is updated in the same
/// transaction.
///
/// Observations, nearly all of the rows, are copied straight into `telemetry.observation`: when a batch
/// holds a row that is already stored, its `COPY` fails on the primary key, the transaction rolls back,
/// and the batch is written again the careful way, as every other table always is: `COPY` into a
/// temporary staging table, then `INSERT … SELECT … ON CONFLICT DO NOTHING`. After such a conflict the next
/// ``carefulBatchesAfterConflict`` batches go the careful way at once, since a replay comes in runs.
struct PostgresSink: Sendable {
    let pool: PostgresPool
    let logger: Logger
    /// Shared by copies of the sink.
    private let state = SinkState()

    static let copyObservations =
        "COPY telemetry.observation (ts, signal_id, message_id, value_double, value_text, twin_id, source, topic) "
        + "FROM STDIN (FORMAT binary)"

    /// How many batches after a conflict skip the direct `COPY`.
    static let carefulBatchesAfterConflict = 16

    init(pool: PostgresPool, logger: Logger) {
        self.pool = pool
        self.logger = logger
    }

    /// An empty set of rows, to fill with ``Rows/add(_:)`` (on any thread) and write with ``write(_:)``.
    func rows() -> Rows {
        Rows(known: state.knownSignals.withLock { $0 })
    }

    /// Writes `messages` in one transaction. Throws the database's error; see ``isDataError(_:)``.
    func write(_ messages: [MappedMessage]) async throws {
        var rows = rows()
        for message in messages { rows.add(message) }
        try await write(rows)
    }

    /// Writes `rows` in one transaction. Throws the database's error; see ``isDataError(_:)``.
    func write(_ rows: Rows) async throws {
        guard !rows.isEmpty else { return }
        if state.careful.load(ordering: .relaxed) > 0 {
            state.careful.subtract(1, ordering: .relaxed)
            try await write(rows, direct: false)
            return
        }
        do {
            try await write(rows, direct: true)
        } catch let error as PostgresError where error.sqlState == "23505" {
            state.careful.store(Self.carefulBatchesAfterConflict, ordering: .relaxed)
            logger.debug("a batch holds rows already stored; writing it through the staging table")
            try await write(rows, direct: false)
        }
    }

    private func write(_ rows: Rows, direct: Bool) async throws {
        if direct && rows.hasObservationsOnly {
            // One statement is atomic by itself: no BEGIN and COMMIT round trips.
            _ = try await pool.withConnection { connection in
                try await connection.copy(Self.copyObservations, chunks: rows.observations.allChunks)
            }
            return
        }
        try await pool.transaction { connection in
            if !rows.observations.isEmpty {
                if direct {
                    _ = try await connection.copy(Self.copyObservations, chunks: rows.observations.allChunks)
                } else {
                    try await connection.executeScript(
                        """
                        CREATE TEMP TABLE IF NOT EXISTS stage_observation (LIKE telemetry.observation)
                            ON COMMIT DELETE ROWS
                        """)
                    _ = try await connection.copy(
                        "COPY stage_observation (ts, signal_id, message_id, value_double, value_text, twin_id, "
                            + "source, topic) FROM STDIN (FORMAT binary)",
                        chunks: rows.observations.allChunks)
                    try await connection.executeScript(
                        "INSERT INTO telemetry.observation SELECT * FROM stage_observation ON CONFLICT DO NOTHING")
                }
            }
            if !rows.signals.isEmpty {
                try await connection.executeScript(
                    """
                    CREATE TEMP TABLE IF NOT EXISTS stage_signal
                        (signal_id text, name text, unit text, twin_id text) ON COMMIT DELETE ROWS
                    """)
                _ = try await connection.copy(
                    "COPY stage_signal (signal_id, name, unit, twin_id) FROM STDIN", chunks: rows.signals.allChunks)
                try await connection.executeScript(
                    """
                    INSERT INTO telemetry.signal AS s (signal_id, name, unit, twin_id)
                        SELECT DISTINCT ON (signal_id) signal_id, name, unit, twin_id FROM stage_signal
                    ON CONFLICT (signal_id) DO UPDATE
                        SET name = EXCLUDED.name, unit = COALESCE(EXCLUDED.unit, s.unit),
                            twin_id = COALESCE(EXCLUDED.twin_id, s.twin_id)
                        WHERE (s.name, s.unit, s.twin_id) IS DISTINCT FROM
                            (EXCLUDED.name, COALESCE(EXCLUDED.unit, s.unit), COALESCE(EXCLUDED.twin_id, s.twin_id))
                    """)
            }
            if !rows.events.isEmpty {
                try await connection.executeScript(
                    "CREATE TEMP TABLE IF NOT EXISTS stage_event (LIKE telemetry.event_log) ON COMMIT DELETE ROWS")
                _ = try await connection.copy(
                    "COPY stage_event (ts, message_id, severity, type, twin_id, source, topic, body) FROM STDIN",
                    chunks: rows.events.allChunks)
                try await connection.executeScript(
                    "INSERT INTO telemetry.event_log SELECT * FROM stage_event ON CONFLICT DO NOTHING")
            }
            if !rows.rejected.isEmpty {
                try await connection.executeScript(
                    "CREATE TEMP TABLE IF NOT EXISTS stage_rejected (LIKE telemetry.rejected) ON COMMIT DELETE ROWS")
                _ = try await connection.copy(
                    "COPY stage_rejected (received_at, message_id, topic, kind, reason, payload, payload_bytes) "
                        + "FROM STDIN",
                    chunks: rows.rejected.allChunks)
                try await connection.executeScript(
                    "INSERT INTO telemetry.rejected SELECT * FROM stage_rejected ON CONFLICT DO NOTHING")
            }
            if !rows.lastSeen.isEmpty {
                // In key order, so concurrent batches lock the rows in the same order (no deadlock).
                let entries = rows.lastSeen.sorted { ($0.key.twin, $0.key.stream) < ($1.key.twin, $1.key.stream) }
                try await connection.execute(
                    """
                    INSERT INTO telemetry.stream_last_seen AS l (twin_id, stream, topic, last_seen, messages)
                        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::bigint[])
                    ON CONFLICT (twin_id, stream) DO UPDATE SET
                        topic = CASE WHEN EXCLUDED.last_seen >= l.last_seen THEN EXCLUDED.topic ELSE l.topic END,
                        last_seen = GREATEST(l.last_seen, EXCLUDED.last_seen),
                        messages = l.messages + EXCLUDED.messages
                    """,
                    [
                        entries.map(\.key.twin), entries.map(\.key.stream), entries.map(\.value.topic),
                        entries.map { Date(timeIntervalSince1970: Double($0.value.at) / 1_000_000) },
                        entries.map { Int64($0.value.count) },
                    ])
            }
        }
        if !rows.newSignals.isEmpty {
            state.knownSignals.withLock { known in
                if known.count > 100_000 { known.removeAll() }
                known.formUnion(rows.newSignals)
            }
        }
    }

    /// A batch's rows in COPY text format, encoded off the store loop (by the batch writer's reading
    /// thread) while the batch before is being written.
    struct Rows: Sendable {
        var observations = CopyBinary()
        var signals = CopyText()
        var events = CopyText()
        var rejected = CopyText()
        var newSignals = Set<MappedMessage.Signal>()
        var lastSeen: [LastSeenKey: (topic: String, at: Int64, count: Int)] = [:]
        /// The signals the sink had written when these rows were started.
        let known: Set<MappedMessage.Signal>

        init(known: Set<MappedMessage.Signal>) { self.known = known }

        var isEmpty: Bool {
            observations.isEmpty && signals.isEmpty && events.isEmpty && rejected.isEmpty && lastSeen.isEmpty
        }

        /// Whether only observations are to be written (a steady stream of known signals without twins).
        var hasObservationsOnly: Bool {
            !observations.isEmpty && signals.isEmpty && events.isEmpty && rejected.isEmpty && lastSeen.isEmpty
        }

        /// Adds the rows of `message`.
        mutating func add(_ message: MappedMessage) {
            switch message.content {
            case .rejected(let row):
                rejected.timestamp(message.receivedAt)
                rejected.uuid(message.key)
                rejected.field(message.topic)
                rejected.field(row.kind)
                rejected.field(row.reason)
                rejected.field(CopyText.bytea(row.payload))
                rejected.lastField(String(row.size))
            case .stored(let stored):
                for observation in stored.observations {
                    observations.beginRow(fields: 8)
                    observations.timestamp(observation.ts)
                    observations.text(observation.signalID)
                    observations.uuid(message.key)
                    observations.double(observation.value)
                    observations.null()
                    observations.text(observation.twinID)
                    observations.text(observation.source)
                    observations.text(message.topic)
                    observations.endRow()
                }
                for signal in stored.signals where !known.contains(signal) && !newSignals.contains(signal) {
                    newSignals.insert(signal)
                    signals.row([signal.id, signal.name, signal.unit, signal.twinID])
                }
                if let event = stored.event {
                    events.row([
                        CopyText.timestamp(event.ts), CopyText.uuid(message.key), String(event.severity), event.type,
                        event.twinID, event.source, message.topic, event.body,
                    ])
                }
                for (twin, stream) in stored.twins {
                    let slot = LastSeenKey(twin: twin, stream: stream)
                    var entry = lastSeen[slot] ?? (message.topic, message.receivedAt, 0)
                    entry.count += 1
                    if message.receivedAt >= entry.at { entry = (message.topic, message.receivedAt, entry.count) }
                    lastSeen[slot] = entry
                }
            }
        }
    }

    /// Whether `error` is about the data (a value the database refuses) rather than the database being
    /// unreachable or restarting: such a batch is written message by message, and what still fails is
    /// rejected instead of being retried forever.
    static func isDataError(_ error: any Error) -> Bool {
        guard let error = error as? PostgresError, let state = error.sqlState else { return false }
        return state.hasPrefix("22") || state.hasPrefix("23") || state.hasPrefix("54")
    }

    struct LastSeenKey: Hashable {
        var twin: String
        var stream: String
    }
}

/// What copies of the sink share.
final class SinkState: Sendable {
    /// Signals already written by this process, so a steady stream does not rewrite them every batch.
    let knownSignals = Mutex(Set<MappedMessage.Signal>())
    /// Batches left to write through the staging table after a conflict.
    let careful = Atomic<Int>(0)
}
