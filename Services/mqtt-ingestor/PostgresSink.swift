import DTPModel
import DTPPostgres
import Foundation
import Logging
import Synchronization

/// Writes batches of mapped messages to the `telemetry` schema: in one transaction, `COPY` into temporary
/// staging tables, then `INSERT … SELECT … ON CONFLICT DO NOTHING` into the real ones, so a message that
/// arrives again (redelivery, spool replay) is stored once. `stream_last_seen` is updated in the same
/// transaction.
struct PostgresSink: Sendable {
    let pool: PostgresPool
    let logger: Logger
    /// Signals already written by this process, so a steady stream does not rewrite them every batch.
    private let knownSignals = SignalCache()

    init(pool: PostgresPool, logger: Logger) {
        self.pool = pool
        self.logger = logger
    }

    /// Writes `messages` in one transaction. Throws the database's error; see ``isDataError(_:)``.
    func write(_ messages: [MappedMessage]) async throws {
        var observations = CopyText()
        var signals = CopyText()
        var events = CopyText()
        var rejected = CopyText()
        var newSignals = Set<MappedMessage.Signal>()
        var lastSeen: [LastSeenKey: (topic: String, at: Int64, count: Int)] = [:]
        let known = knownSignals.signals.withLock { $0 }
        for message in messages {
            let key = message.key.uuidString.lowercased()
            switch message.content {
            case .rejected(let row):
                rejected.row([
                    CopyText.timestamp(message.receivedAt), key, message.topic, row.kind, row.reason,
                    CopyText.bytea(row.payload), String(row.size),
                ])
            case .stored(let stored):
                for observation in stored.observations {
                    observations.row([
                        CopyText.timestamp(observation.ts), observation.signalID, key, String(observation.value), nil,
                        observation.twinID, observation.source, message.topic,
                    ])
                }
                for signal in stored.signals where !known.contains(signal) && !newSignals.contains(signal) {
                    newSignals.insert(signal)
                    signals.row([signal.id, signal.name, signal.unit, signal.twinID])
                }
                if let event = stored.event {
                    events.row([
                        CopyText.timestamp(event.ts), key, String(event.severity), event.type, event.twinID,
                        event.source, message.topic, event.body,
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
        try await pool.transaction { connection in
            if !observations.isEmpty {
                try await connection.executeScript(
                    """
                    CREATE TEMP TABLE IF NOT EXISTS stage_observation (LIKE telemetry.observation)
                        ON COMMIT DELETE ROWS
                    """)
                _ = try await connection.copy(
                    "COPY stage_observation (ts, signal_id, message_id, value_double, value_text, twin_id, source, topic) FROM STDIN",
                    chunks: observations.allChunks)
                try await connection.executeScript(
                    "INSERT INTO telemetry.observation SELECT * FROM stage_observation ON CONFLICT DO NOTHING")
            }
            if !signals.isEmpty {
                try await connection.executeScript(
                    """
                    CREATE TEMP TABLE IF NOT EXISTS stage_signal
                        (signal_id text, name text, unit text, twin_id text) ON COMMIT DELETE ROWS
                    """)
                _ = try await connection.copy(
                    "COPY stage_signal (signal_id, name, unit, twin_id) FROM STDIN", chunks: signals.allChunks)
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
            if !events.isEmpty {
                try await connection.executeScript(
                    "CREATE TEMP TABLE IF NOT EXISTS stage_event (LIKE telemetry.event_log) ON COMMIT DELETE ROWS")
                _ = try await connection.copy(
                    "COPY stage_event (ts, message_id, severity, type, twin_id, source, topic, body) FROM STDIN",
                    chunks: events.allChunks)
                try await connection.executeScript(
                    "INSERT INTO telemetry.event_log SELECT * FROM stage_event ON CONFLICT DO NOTHING")
            }
            if !rejected.isEmpty {
                try await connection.executeScript(
                    "CREATE TEMP TABLE IF NOT EXISTS stage_rejected (LIKE telemetry.rejected) ON COMMIT DELETE ROWS")
                _ = try await connection.copy(
                    "COPY stage_rejected (received_at, message_id, topic, kind, reason, payload, payload_bytes) FROM STDIN",
                    chunks: rejected.allChunks)
                try await connection.executeScript(
                    "INSERT INTO telemetry.rejected SELECT * FROM stage_rejected ON CONFLICT DO NOTHING")
            }
            if !lastSeen.isEmpty {
                let entries = Array(lastSeen)
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
        if !newSignals.isEmpty {
            knownSignals.signals.withLock { known in
                if known.count > 100_000 { known.removeAll() }
                known.formUnion(newSignals)
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

/// The signals a process has written, shared by copies of the sink.
final class SignalCache: Sendable {
    let signals = Mutex(Set<MappedMessage.Signal>())
}

/// Rows in PostgreSQL's COPY text format, in chunks of about 256 KiB.
struct CopyText {
    private(set) var chunks: [[UInt8]] = []
    private var current: [UInt8] = []

    var isEmpty: Bool { chunks.isEmpty && current.isEmpty }

    /// Appends a row; nil is NULL.
    mutating func row(_ values: [String?]) {
        for (index, value) in values.enumerated() {
            if index > 0 { current.append(0x09) }
            guard let value else {
                current.append(contentsOf: [0x5C, 0x4E])
                continue
            }
            for byte in value.utf8 {
                switch byte {
                case 0x5C: current.append(contentsOf: [0x5C, 0x5C])
                case 0x09: current.append(contentsOf: [0x5C, 0x74])
                case 0x0A: current.append(contentsOf: [0x5C, 0x6E])
                case 0x0D: current.append(contentsOf: [0x5C, 0x72])
                default: current.append(byte)
                }
            }
        }
        current.append(0x0A)
        if current.count >= 256 * 1024 {
            chunks.append(current)
            current = []
        }
    }

    /// The rows, the last chunk included.
    var allChunks: [[UInt8]] { current.isEmpty ? chunks : chunks + [current] }

    /// An ISO 8601 UTC time from microseconds since the epoch.
    static func timestamp(_ micros: Int64) -> String {
        Timestamp(microsecondsSinceEpoch: micros).iso8601
    }

    /// `bytea` in hex form (`\x…`); ``row(_:)`` doubles the backslash as COPY needs.
    static func bytea(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(2 + bytes.count * 2)
        text.append(contentsOf: [0x5C, 0x78])
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
