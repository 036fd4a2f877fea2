import DTPInfluxDB
import Foundation

/// What one message becomes in the stores.
struct MappedMessage: Sendable {
    /// The message's key (16 bytes of SHA-256, written as a UUID): the same message, delivered again or
    /// replayed from the spool, gets the same key and is stored once.
    var key: UUID
    var topic: String
    /// The declared stream (filter) the topic matched, for per-stream metrics.
    var stream: String
    var receivedAt: Int64
    var content: Content

    enum Content: Sendable {
        case stored(Stored)
        case rejected(Rejected)
    }

    /// The rows of a valid message.
    struct Stored: Sendable {
        var observations: [Observation] = []
        var signals: [Signal] = []
        var event: Event?
        var point: InfluxPoint?
        /// Every twin whose stream the topic matched: `(twin, stream)`.
        var twins: [(twin: String, stream: String)] = []
    }

    /// A `telemetry.observation` row.
    struct Observation: Sendable {
        var ts: Int64
        var signalID: String
        var value: Double
        var twinID: String?
        var source: String?
    }

    /// A `telemetry.signal` row.
    struct Signal: Sendable, Hashable {
        var id: String
        var name: String
        var unit: String?
        var twinID: String?
    }

    /// A `telemetry.event_log` row.
    struct Event: Sendable {
        var ts: Int64
        var severity: Int
        var type: String
        var twinID: String?
        var source: String?
        /// The payload, as JSON text.
        var body: String
    }

    /// A `telemetry.rejected` row.
    struct Rejected: Sendable {
        /// A short machine-readable kind (`not_json`, `future_ts`, ...).
        var kind: String
        /// What is wrong, in words.
        var reason: String
        /// The payload, truncated to `DTP_INGEST_REJECT_KEEP_BYTES`.
        var payload: [UInt8]
        /// The payload's full size.
        var size: Int
    }
}
