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
/// Ordering: readers follow the outbox by id (`WHERE id > last`), so a reader must never see an event
/// after it has already seen one with a higher id, or it would skip it. bigserial ids are taken at
/// insert time, and with concurrent writers a transaction holding id 7 may commit after another holding
/// id 8. To rule that out, every writer takes a transaction-scoped advisory lock in SHARED mode before
/// it takes its ids and keeps it until its commit or rollback; readers take the same lock EXCLUSIVELY
/// (`registry.events_after`, `registry.event_horizon`, see Migrations) before they read. The exclusive
/// request waits until every writer that might hold an id has finished (PostgreSQL releases the lock
/// after the commit is visible), and writers that arrive meanwhile queue behind it, so what the reader
/// then reads with a fresh snapshot is a prefix of the final outbox: no id below the highest one read
/// can appear later. Rolled-back ids leave harmless gaps.
///
/// Writers do not wait for each other, so their commits (and WAL flushes) proceed in parallel; a reader
/// holds writers back only for as long as the in-flight ones take to commit.
///
/// The `NOTIFY` is sent in the same transaction, so PostgreSQL delivers it only if the transaction
/// commits. It carries the highest id, but readers treat it only as a wake-up to read the table.
enum EventOutbox {
    /// The advisory lock key that orders event ids ("DTPE").
    static let lockKey: Int64 = 0x4454_5045
    /// The NOTIFY channel.
    static let channel = "registry_events"

    /// The stored `data` of an event: the earlier shape `{"type", "tenant", "payload", "ts"}` plus `actor`.
    static func data(_ event: OutboxEvent, ts: String) throws -> String {
        try JSONValue.object([
            "type": .string(event.type.rawValue), "tenant": .string(event.tenant), "payload": event.payload,
            "ts": .string(ts), "actor": .string(event.actor),
        ]).jsonText()
    }

    /// The stored `data` of a `twin.update` event from the twin's JSON text, exactly as ``data(_:ts:)``
    /// writes it (keys sorted, compact) but without parsing and writing the twin again.
    static func twinUpdateData(doc: String, tenant: String, actor: String, ts: String) -> String {
        "{\"actor\":\(jsonString(actor)),\"payload\":\(doc),\"tenant\":\(jsonString(tenant)),"
            + "\"ts\":\(jsonString(ts)),\"type\":\"\(RegistryEvent.EventType.twinUpdate.rawValue)\"}"
    }

    /// A string as a JSON string literal.
    static func jsonString(_ text: String) -> String {
        // Writing a string cannot fail (only non-finite doubles can).
        (try? JSONValue.string(text).jsonText()) ?? "\"\""
    }

    /// Appends `events`, in order, in one statement that takes the shared lock first; must be the last
    /// statement of the transaction, so the lock is held briefly. Returns the events' ids, in order.
    @discardableResult
    static func append(_ events: [OutboxEvent], on connection: PostgresConnection) async throws -> [Int64] {
        guard !events.isEmpty else { return [] }
        let ts = Timestamp.now().iso8601
        var tenants: [String] = []
        var types: [String] = []
        var actors: [String] = []
        var data: [String] = []
        for event in events {
            tenants.append(event.tenant)
            types.append(event.type.rawValue)
            actors.append(event.actor)
            data.append(try Self.data(event, ts: ts))
        }
        // Ids are drawn in the order of `n`, so sorting them gives each event's id.
        return try await connection.query(
            """
            WITH ordered AS (SELECT pg_advisory_xact_lock_shared($5)),
            inserted AS (
                INSERT INTO registry.event (tenant, type, actor, data)
                SELECT e.tenant, e.type, e.actor, e.data
                FROM ordered, unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY
                    AS e(tenant, type, actor, data, n)
                ORDER BY e.n
                RETURNING id
            ),
            notified AS (SELECT pg_notify('\(channel)', max(id)::text) FROM inserted)
            SELECT inserted.id FROM inserted, notified ORDER BY inserted.id
            """,
            [tenants, types, actors, data, lockKey]
        ).map { try $0.decode(Int64.self, at: 0) }
    }
}
