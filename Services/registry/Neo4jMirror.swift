import DTPModel
import DTPNeo4j
import DTPPostgres
import Foundation
import Logging
import ServiceLifecycle

/// Keeps Neo4j in step with the registry by following the event outbox: twins become
/// `(:Twin {twin_id, tenant, status})`, relationships typed edges between them.
///
/// The mirror reads the outbox after its own cursor (`registry.mirror_cursor`, row `neo4j`), applies a
/// batch of events in one Neo4j transaction, and only then advances the cursor; a failure leaves the
/// cursor where it was and the same batch is retried after a growing pause, so no event is skipped. Every
/// statement is idempotent (MERGE, SET, DETACH DELETE, DELETE of a matched edge), so a batch applied twice
/// (Neo4j committed, then the cursor update failed) leaves the same graph. New events wake the mirror
/// through the process's ``EventHub``; it does not poll.
///
/// Edges: a twin's `dependencies` (static and dynamic) become `DEPENDS_ON` edges with
/// `source: 'declared'`, replaced whenever the twin changes; edges added through the relationships API
/// carry `source: 'api'` and their original `type`, under a label made from the type (``label(for:)``).
final class Neo4jMirror: ServiceLifecycle.Service, Sendable {
    /// The cursor row's name.
    static let cursorName = "neo4j"
    /// The outbox types the mirror applies; others only move the cursor.
    static let types: Set<String> = ["twin.update", "twin.delete", "relationship.update"]

    let pool: PostgresPool
    let neo4j: Neo4jClient
    let hub: EventHub
    let logger: Logger
    let batchSize: Int
    let initialBackoff: Duration
    let maxBackoff: Duration

    init(
        pool: PostgresPool, neo4j: Neo4jClient, hub: EventHub, logger: Logger, batchSize: Int = 200,
        initialBackoff: Duration = .milliseconds(250), maxBackoff: Duration = .seconds(30)
    ) {
        self.pool = pool
        self.neo4j = neo4j
        self.hub = hub
        self.logger = logger
        self.batchSize = batchSize
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
    }

    func run() async throws {
        // Watching starts before the first catch-up, so an event committed in between still wakes us.
        let wakes = hub.watch()
        await cancelWhenGracefulShutdown {
            var backoff = self.initialBackoff
            var cursor: Int64?
            var iterator = wakes.makeAsyncIterator()
            while !Task.isCancelled {
                do {
                    var position: Int64
                    if let cursor {
                        position = cursor
                    } else {
                        position = try await self.loadCursor()
                    }
                    cursor = position
                    while let next = try await self.applyNextBatch(after: position) {
                        position = next
                        cursor = next
                    }
                    backoff = self.initialBackoff
                } catch is CancellationError {
                    return
                } catch {
                    self.logger.warning(
                        "neo4j mirror failed; retrying",
                        metadata: ["error": "\(error)", "retry_in": "\(backoff)", "cursor": "\(cursor ?? -1)"])
                    do {
                        try await Task.sleep(for: backoff)
                    } catch {
                        return
                    }
                    backoff = min(backoff * 2, self.maxBackoff)
                    continue
                }
                // Caught up: wait for the hub to read something new.
                guard await iterator.next() != nil else { return }
            }
        }
    }

    /// The stored cursor, created at 0 (mirror everything) the first time.
    private func loadCursor() async throws -> Int64 {
        let rows = try await pool.query(
            """
            INSERT INTO registry.mirror_cursor (name, last_id) VALUES ($1, 0)
            ON CONFLICT (name) DO UPDATE SET last_id = registry.mirror_cursor.last_id
            RETURNING last_id
            """, [Self.cursorName])
        return try rows[0].decode(Int64.self, at: 0)
    }

    /// Applies the events after `cursor`, up to ``batchSize`` of them, then stores the new cursor; nil when
    /// there was nothing to apply.
    private func applyNextBatch(after cursor: Int64) async throws -> Int64? {
        let records = try await EventHub.read(
            pool, after: cursor, filter: EventFilter(types: Self.types), limit: batchSize)
        guard let last = records.last?.id else { return nil }
        var statements: [Neo4jStatement] = []
        for record in records {
            do {
                statements += try Self.statements(for: record)
            } catch {
                // A malformed event can never be applied; retrying it would stop the mirror for good.
                logger.error(
                    "neo4j mirror skips an event it cannot read", metadata: ["id": "\(record.id)", "error": "\(error)"])
            }
        }
        if !statements.isEmpty { _ = try await neo4j.run(statements) }
        try await pool.execute(
            "UPDATE registry.mirror_cursor SET last_id = $2 WHERE name = $1", [Self.cursorName, last])
        return last
    }

    struct MalformedEvent: Error, CustomStringConvertible {
        let description: String
    }

    /// The Cypher statements that apply one outbox event.
    static func statements(for record: OutboxRecord) throws -> [Neo4jStatement] {
        let data = try JSONValue(jsonText: record.data)
        guard let payload = data["payload"] else { throw MalformedEvent(description: "no payload") }
        switch record.type {
        case "twin.update":
            guard let id = payload["twin_id"]?.stringValue ?? payload["@id"]?.stringValue else {
                throw MalformedEvent(description: "twin.update without twin_id")
            }
            let status = payload["metadata"]?["status"]?.stringValue ?? payload["status"]?.stringValue
            let dependencies = payload["dependencies"]
            let targets = ["static", "dynamic"].flatMap { kind in
                (dependencies?[kind]?.arrayValue ?? []).compactMap(\.stringValue)
            }
            return [
                Neo4jStatement(
                    "MERGE (t:Twin {twin_id: $id}) SET t.tenant = $tenant, t.status = $status",
                    parameters: [
                        "id": .string(id), "tenant": .string(payload["tenant"]?.stringValue ?? record.tenant),
                        "status": status.map(Neo4jValue.string) ?? .null,
                    ]),
                Neo4jStatement(
                    """
                    MATCH (t:Twin {twin_id: $id})
                    OPTIONAL MATCH (t)-[old:DEPENDS_ON {source: 'declared'}]->()
                    DELETE old
                    WITH DISTINCT t
                    UNWIND $targets AS target
                    MERGE (o:Twin {twin_id: target})
                    MERGE (t)-[:DEPENDS_ON {source: 'declared'}]->(o)
                    """,
                    parameters: ["id": .string(id), "targets": .list(targets.map(Neo4jValue.string))]),
            ]
        case "twin.delete":
            guard let id = payload["twin_id"]?.stringValue else {
                throw MalformedEvent(description: "twin.delete without twin_id")
            }
            return [Neo4jStatement("MATCH (t:Twin {twin_id: $id}) DETACH DELETE t", parameters: ["id": .string(id)])]
        case "relationship.update":
            guard let from = payload["from"]?.stringValue, let to = payload["to"]?.stringValue,
                let type = payload["type"]?.stringValue
            else { throw MalformedEvent(description: "relationship.update without from, type and to") }
            let label = label(for: type)
            let parameters: [String: Neo4jValue] = ["from": .string(from), "to": .string(to), "type": .string(type)]
            if payload["op"]?.stringValue == "remove" {
                return [
                    Neo4jStatement(
                        """
                        MATCH (:Twin {twin_id: $from})-[r:`\(label)` {source: 'api', type: $type}]->(:Twin {twin_id: $to})
                        DELETE r
                        """, parameters: parameters)
                ]
            }
            return [
                Neo4jStatement(
                    """
                    MERGE (a:Twin {twin_id: $from})
                    MERGE (b:Twin {twin_id: $to})
                    MERGE (a)-[:`\(label)` {source: 'api', type: $type}]->(b)
                    """, parameters: parameters)
            ]
        default:
            return []
        }
    }

    /// A relationship type as a Cypher label: upper case, every character outside `[A-Z0-9_]` replaced by
    /// `_`, and a leading digit prefixed by `_`; `depends_on` and `feeds-into` become `DEPENDS_ON` and
    /// `FEEDS_INTO`. Types cannot be query parameters in Cypher, so the label is spliced into the text,
    /// which is why only these characters may reach it (and it is quoted in backticks besides).
    static func label(for type: String) -> String {
        var label = String(
            type.uppercased().unicodeScalars.map { scalar -> Character in
                (("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "_") ? Character(scalar) : "_"
            })
        if label.isEmpty || label.first!.isNumber { label = "_" + label }
        return String(label.prefix(100))
    }
}
