import DTPModel
import DTPPostgres
import Foundation
import Logging

/// One change to announce.
struct OutboxEvent: Sendable {
    var tenant: String
    var type: RegistryEvent.EventType
    var payload: JSONValue
    var actor: String
}

/// Writes change events into `registry.event`, inside the transaction of the change they announce.
///
/// Ordering: readers follow the outbox by id (`WHERE id > last`), so an event must never become visible
/// after an event with a higher id, or a reader that already advanced past the higher id would skip it.
/// bigserial ids are taken at insert time, and with concurrent writers a transaction holding id 7 may
/// commit after another holding id 8. To rule that out, ``append(_:on:)`` first takes a
/// transaction-scoped advisory lock (the same key for every writer) and callers make it the last
/// statement of their transaction. The lock is held until commit or rollback, so the next writer takes
/// its ids only after the previous one has finished: event ids become visible strictly in id order
/// (PostgreSQL releases the lock after the commit is visible). Rolled-back ids leave harmless gaps.
/// The cost is that the final step of concurrent writes (insert event, commit) is serialised.
///
/// The `NOTIFY` is sent in the same transaction, so PostgreSQL delivers it only if the transaction
/// commits. It carries the highest id, but readers treat it only as a wake-up to read the table.
enum EventOutbox {
    /// The advisory lock key that serialises event ids ("DTPE").
    static let lockKey: Int64 = 0x4454_5045
    /// The NOTIFY channel.
    static let channel = "registry_events"

    /// Appends `events`, in order; must be the last statement of the transaction.
    static func append(_ events: [OutboxEvent], on connection: PostgresConnection) async throws {
        guard !events.isEmpty else { return }
        let ts = Timestamp.now().iso8601
        var tenants: [String] = []
        var types: [String] = []
        var actors: [String] = []
        var data: [String] = []
        for event in events {
            tenants.append(event.tenant)
            types.append(event.type.rawValue)
            actors.append(event.actor)
            data.append(
                try JSONValue.object([
                    "type": .string(event.type.rawValue), "tenant": .string(event.tenant), "payload": event.payload,
                    "ts": .string(ts), "actor": .string(event.actor),
                ]).jsonText())
        }
        try await connection.execute("SELECT pg_advisory_xact_lock($1)", [lockKey])
        try await connection.execute(
            """
            WITH inserted AS (
                INSERT INTO registry.event (tenant, type, actor, data)
                SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
                RETURNING id
            )
            SELECT pg_notify('\(channel)', max(id)::text) FROM inserted
            """,
            [tenants, types, actors, data])
    }
}
