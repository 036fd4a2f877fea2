import DTPModel
import DTPPostgres
import DTPServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The twin store over the registry schema: one row per twin holding its API JSON (`doc`) plus the
/// columns that filters use, a history row per revision, and the outbox event, all in one transaction.
struct PostgresTwinStore: TwinStore {
    let pool: PostgresPool
    /// List pages served again while no twin has changed.
    let listCache = TwinListCache()

    /// Reads a UNIQUE violation as "someone created it first": the upsert is retried and finds it.
    private static let uniqueViolation = "23505"

    /// How many times a write reads, checks and compares-and-swaps before it falls back to a transaction
    /// that locks the row (which cannot lose the race, so contention never starves a writer).
    private static let optimisticAttempts = 3

    func upsert(_ draft: TwinDraft, precondition: WritePrecondition, actor: String) async throws -> UpsertResult {
        for _ in 0..<Self.optimisticAttempts {
            let previous = try await twin(id: draft.id)
            try precondition.check(previous)
            if let previous, draft.isUnchanged(from: previous) {
                return UpsertResult(twin: previous, created: false)
            }
            let twin = try draft.version(after: previous, now: .now())
            if try await Self.swap(twin, previous: previous, op: previous == nil ? "create" : "update", actor: actor,
                payload: RegistryEvent.twinUpdatePayload(twin), on: pool)
            {
                return UpsertResult(twin: twin, created: previous == nil)
            }
        }
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await pool.transaction { connection in
                    var events: [OutboxEvent] = []
                    let result = try await upsert(draft, precondition: precondition, actor: actor, on: connection, events: &events)
                    try await EventOutbox.append(events, on: connection)
                    return result
                }
            } catch let error as PostgresError where error.sqlState == Self.uniqueViolation && attempt < 3 {
                continue
            }
        }
    }

    func bulkUpsert(_ drafts: [Result<TwinDraft, APIError>], actor: String) async throws
        -> [Result<UpsertResult, APIError>]
    {
        try await pool.transaction { connection in
            var events: [OutboxEvent] = []
            var results: [Result<UpsertResult, APIError>] = []
            var seen: Set<String> = []
            for draft in drafts {
                switch draft {
                case .failure(let error):
                    results.append(.failure(error))
                case .success(let draft):
                    if !seen.insert(draft.id).inserted {
                        results.append(.failure(APIError.unprocessable("@id: \(draft.id) appears twice in the batch")))
                        continue
                    }
                    do {
                        results.append(
                            .success(
                                try await upsert(draft, precondition: .none, actor: actor, on: connection, events: &events)))
                    } catch let error as APIError {
                        results.append(.failure(error))
                    }
                }
            }
            try await EventOutbox.append(events, on: connection)
            return results
        }
    }

    /// The upsert inside a transaction; a validation failure throws before anything is written.
    private func upsert(
        _ draft: TwinDraft, precondition: WritePrecondition, actor: String, on connection: PostgresConnection,
        events: inout [OutboxEvent]
    ) async throws -> UpsertResult {
        let previous = try await Self.lockedTwin(id: draft.id, on: connection)
        try precondition.check(previous)
        if let previous, draft.isUnchanged(from: previous) {
            return UpsertResult(twin: previous, created: false)
        }
        let twin = try draft.version(after: previous, now: .now())
        try await Self.write(twin, previous: previous, op: previous == nil ? "create" : "update", actor: actor, on: connection)
        events.append(
            OutboxEvent(
                tenant: twin.tenant, type: .twinUpdate, payload: RegistryEvent.twinUpdatePayload(twin), actor: actor))
        return UpsertResult(twin: twin, created: previous == nil)
    }

    func twin(id: String) async throws -> Twin? {
        guard
            let row = try await pool.query(
                "SELECT doc::text FROM registry.twin WHERE id = $1", [id]
            ).first
        else {
            return nil
        }
        return try Self.decodeTwin(row.decode(String.self, at: 0))
    }

    func twinJSON(id: String) async throws -> (json: String, etag: String)? {
        guard
            let row = try await pool.query(
                "SELECT doc::text, version FROM registry.twin WHERE id = $1", [id]
            ).first
        else { return nil }
        return (try row.decode(String.self, at: 0), Twin.etag(forVersion: try row.decode(Int.self, at: 1)))
    }

    func list(_ filter: TwinFilter, limit: Int, after: String?) async throws -> TwinPage {
        let key = TwinListCache.Key(filter: filter, limit: limit, after: after)
        let horizon = try await pool.query("SELECT registry.event_horizon()")[0].decode(Int64.self, at: 0)
        return try await listCache.page(for: key, horizon: horizon) {
            try await query(filter, limit: limit, after: after)
        }
    }

    /// The page as the database has it now.
    private func query(_ filter: TwinFilter, limit: Int, after: String?) async throws -> TwinPage {
        var conditions: [String] = []
        var parameters: [any PostgresEncodable] = []
        func add(_ condition: (String) -> String, _ value: any PostgresEncodable) {
            parameters.append(value)
            conditions.append(condition("$\(parameters.count)"))
        }
        if let tenant = filter.tenant { add({ "tenant = \($0)" }, tenant) }
        if let status = filter.status { add({ "status = \($0)" }, status) }
        if let domain = filter.domain { add({ "\($0) = ANY(domains)" }, domain) }
        if let since = filter.updatedSince { add({ "updated_at >= \($0)::timestamptz" }, since.iso8601) }
        if let query = filter.query?.lowercased() {
            add({ "(strpos(lower(id), \($0)) > 0 OR strpos(lower(coalesce(name, '')), \($0)) > 0)" }, query)
        }
        if let after { add({ "id > \($0)" }, after) }
        parameters.append(limit)
        // The page is joined into one text by PostgreSQL: one row to copy out of libpq instead of one per
        // twin. The row after the page, if any, only says that there is a next page.
        let sql = """
            WITH page AS (
                SELECT id, doc FROM registry.twin
                \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "))
                ORDER BY id LIMIT $\(parameters.count) + 1
            ),
            numbered AS (SELECT id, doc, row_number() OVER (ORDER BY id) AS n FROM page)
            SELECT
                coalesce(
                    string_agg(doc::text, ',' ORDER BY id) FILTER (WHERE n <= $\(parameters.count)),
                    ''),
                max(id) FILTER (WHERE n = $\(parameters.count)), count(*)
            FROM numbered
            """
        let row = try await pool.query(sql, parameters)[0]
        let more = try row.decode(Int.self, at: 2) > limit
        return TwinPage(
            joined: try row.decode(String.self, at: 0), nextAfter: more ? try row.decode(String?.self, at: 1) : nil)
    }

    func publicList(tenant: String?) async throws -> [String] {
        try await pool.query(
            """
            SELECT jsonb_build_object(
                'twin_id', id, '@id', id, 'name', name, 'tenant', tenant, 'status', status,
                'domain', doc->'metadata'->'domain',
                'data_streams', coalesce(doc->'interfaces'->'data_streams', '[]'::jsonb))::text
            FROM registry.twin WHERE ($1::text IS NULL OR tenant = $1) ORDER BY id
            """, [tenant]
        ).map { try $0.decode(String.self, at: 0) }
    }

    func update(
        id: String, precondition: WritePrecondition, actor: String, change: @Sendable (Twin) throws -> TwinDraft
    ) async throws -> Twin {
        for _ in 0..<Self.optimisticAttempts {
            guard let previous = try await twin(id: id) else { throw APIError.notFound("twin not found") }
            try precondition.check(previous)
            guard let twin = try Self.changed(previous, by: change) else { return previous }
            if try await Self.swap(twin, previous: previous, op: "update", actor: actor, payload: twin.jsonValue, on: pool) {
                return twin
            }
        }
        return try await pool.transaction { connection in
            guard let previous = try await Self.lockedTwin(id: id, on: connection) else {
                throw APIError.notFound("twin not found")
            }
            try precondition.check(previous)
            guard let twin = try Self.changed(previous, by: change) else { return previous }
            try await Self.write(twin, previous: previous, op: "update", actor: actor, on: connection)
            try await EventOutbox.append(
                [OutboxEvent(tenant: twin.tenant, type: .twinUpdate, payload: twin.jsonValue, actor: actor)],
                on: connection)
            return twin
        }
    }

    /// The next version of `previous` after `change`, or nil when it changes nothing.
    private static func changed(_ previous: Twin, by change: (Twin) throws -> TwinDraft) throws -> Twin? {
        var draft = try change(previous)
        guard draft.id == previous.id else { throw APIError.unprocessable("@id: cannot be changed") }
        if draft.isUnchanged(from: previous) { return nil }
        if draft.metadata["status"] == nil { draft.metadata["status"] = previous.metadata["status"] }
        return try draft.version(after: previous, now: .now())
    }

    func delete(id: String, soft: Bool, precondition: WritePrecondition, actor: String) async throws {
        try await pool.transaction { connection in
            guard let previous = try await Self.lockedTwin(id: id, on: connection) else {
                throw APIError.notFound("twin not found")
            }
            try precondition.check(previous)
            if soft {
                // A retired twin stays retired: it is already gone for good.
                guard previous.status != .deprecated, previous.status != .retired else { return }
                var draft = TwinDraft(previous)
                draft.metadata["status"] = .string(LifecycleStatus.deprecated.rawValue)
                let twin = try draft.version(after: previous, now: .now())
                try await Self.write(twin, previous: previous, op: "deprecate", actor: actor, on: connection)
                try await EventOutbox.append(
                    [OutboxEvent(tenant: twin.tenant, type: .twinUpdate, payload: twin.jsonValue, actor: actor)],
                    on: connection)
                return
            }
            try await connection.execute("DELETE FROM registry.twin WHERE id = $1", [id])
            try await connection.execute(
                "DELETE FROM registry.relationship WHERE from_id = $1 AND source IN ('static', 'dynamic')", [id])
            try await connection.execute(
                """
                INSERT INTO registry.twin_history (twin_id, version, op, actor, changed, at, doc)
                VALUES ($1, $2, 'delete', $3, '{}', now(), $4::jsonb)
                """, [id, previous.version, actor, try previous.jsonValue.jsonText()])
            try await EventOutbox.append(
                [
                    OutboxEvent(
                        tenant: previous.tenant, type: .twinDelete, payload: RegistryEvent.twinDeletePayload(id: id),
                        actor: actor)
                ], on: connection)
        }
    }

    func history(id: String) async throws -> [String]? {
        let rows = try await pool.query(
            """
            SELECT jsonb_build_object(
                'twin_id', twin_id, 'version', version, 'op', op, 'actor', actor, 'changed', to_jsonb(changed),
                'at', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), 'twin', doc)::text
            FROM registry.twin_history WHERE twin_id = $1 ORDER BY seq DESC
            """, [id])
        return rows.isEmpty ? nil : try rows.map { try $0.decode(String.self, at: 0) }
    }

    // MARK: Rows

    static func lockedTwin(id: String, on connection: PostgresConnection) async throws -> Twin? {
        guard
            let row = try await connection.query(
                "SELECT doc::text FROM registry.twin WHERE id = $1 FOR UPDATE", [id]
            ).first
        else { return nil }
        return try decodeTwin(row.decode(String.self, at: 0))
    }

    static func decodeTwin(_ json: String) throws -> Twin {
        try JSONDecoder().decode(Twin.self, from: Data(json.utf8))
    }

    /// Writes `twin` if the stored row is still `previous` (absent when nil), together with its history
    /// entry, its declared relationships when they changed, and its `twin.update` event with the NOTIFY:
    /// one statement, so one round trip and its own transaction. Returns false, having written nothing,
    /// when another writer got there first; the caller reads again.
    ///
    /// The event is inserted after the outbox lock is taken in shared mode (see ``EventOutbox``): the
    /// `ordered` CTE is a row source of the event insert, so it runs before the event's id is drawn.
    static func swap(
        _ twin: Twin, previous: Twin?, op: String, actor: String, payload: JSONValue, on pool: PostgresPool
    ) async throws -> Bool {
        let doc = try twin.jsonValue.jsonText()
        let event = try EventOutbox.data(
            OutboxEvent(tenant: twin.tenant, type: .twinUpdate, payload: payload, actor: actor),
            ts: Timestamp.now().iso8601)
        var parameters: [any PostgresEncodable] = [
            twin.id, twin.tenant, twin.status?.rawValue ?? "instantiated", twin.name, twin.domains, doc, twin.version,
            twin.createdAt.iso8601, twin.updatedAt.iso8601, actor, op, TwinDraft.changedFields(from: previous, to: twin),
            event, EventOutbox.lockKey,
        ]
        let written =
            previous == nil
            ? """
            INSERT INTO registry.twin
                (id, tenant, status, name, domains, doc, version, created_at, updated_at, updated_by)
            VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8::timestamptz, $9::timestamptz, $10)
            ON CONFLICT (id) DO NOTHING
            RETURNING id
            """
            : """
            UPDATE registry.twin SET tenant = $2, status = $3, name = $4, domains = $5,
                doc = $6::jsonb,
                version = $7, created_at = $8::timestamptz, updated_at = $9::timestamptz, updated_by = $10
            WHERE id = $1 AND version = $7 - 1
            RETURNING id
            """
        var relationships = ""
        if previous?.dependencies != twin.dependencies {
            // Rows to keep are left alone and the rest deleted, so the delete and the insert of this one
            // statement never touch the same row.
            parameters.append(twin.dependencies.static + twin.dependencies.dynamic)
            parameters.append(
                Array(repeating: "static", count: twin.dependencies.static.count)
                    + Array(repeating: "dynamic", count: twin.dependencies.dynamic.count))
            relationships = """
                unlinked AS (
                    DELETE FROM registry.relationship r USING written
                    WHERE r.from_id = written.id AND r.source IN ('static', 'dynamic')
                        AND NOT (r.type = 'depends_on'
                            AND (r.to_id, r.source) IN (SELECT * FROM unnest($15::text[], $16::text[])))
                ),
                linked AS (
                    INSERT INTO registry.relationship (from_id, type, to_id, source)
                    SELECT written.id, 'depends_on', t.target, t.source
                    FROM written, unnest($15::text[], $16::text[]) AS t(target, source)
                    ON CONFLICT DO NOTHING
                ),
                """
        }
        let rows = try await pool.query(
            """
            WITH written AS (
                \(written)
            ),
            history AS (
                INSERT INTO registry.twin_history (twin_id, version, op, actor, changed, at, doc)
                SELECT written.id, $7, $11, $10, $12, $9::timestamptz, $6::jsonb FROM written
            ),
            \(relationships)
            ordered AS (SELECT pg_advisory_xact_lock_shared($14) FROM written),
            event AS (
                INSERT INTO registry.event (tenant, type, actor, data)
                SELECT $2, 'twin.update', $10, $13 FROM ordered
                RETURNING id
            )
            SELECT pg_notify('\(EventOutbox.channel)', id::text) FROM event
            """, parameters)
        return !rows.isEmpty
    }

    /// Writes the twin's row, its declared relationships and its history entry.
    static func write(
        _ twin: Twin, previous: Twin?, op: String, actor: String, on connection: PostgresConnection
    ) async throws {
        let doc = try twin.jsonValue.jsonText()
        let parameters: [any PostgresEncodable] = [
            twin.id, twin.tenant, twin.status?.rawValue ?? "instantiated", twin.name, twin.domains, doc, twin.version,
            twin.createdAt.iso8601, twin.updatedAt.iso8601, actor,
        ]
        if previous == nil {
            try await connection.execute(
                """
                INSERT INTO registry.twin
                    (id, tenant, status, name, domains, doc, version, created_at, updated_at, updated_by)
                VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8::timestamptz, $9::timestamptz, $10)
                """, parameters)
        } else {
            try await connection.execute(
                """
                UPDATE registry.twin SET tenant = $2, status = $3, name = $4, domains = $5,
                doc = $6::jsonb,
                    version = $7, created_at = $8::timestamptz, updated_at = $9::timestamptz, updated_by = $10
                WHERE id = $1
                """, parameters)
        }
        if previous?.dependencies != twin.dependencies {
            try await connection.execute(
                "DELETE FROM registry.relationship WHERE from_id = $1 AND source IN ('static', 'dynamic')", [twin.id])
            let targets = twin.dependencies.static + twin.dependencies.dynamic
            let sources = Array(repeating: "static", count: twin.dependencies.static.count)
                + Array(repeating: "dynamic", count: twin.dependencies.dynamic.count)
            if !targets.isEmpty {
                try await connection.execute(
                    """
                    INSERT INTO registry.relationship (from_id, type, to_id, source)
                    SELECT $1, 'depends_on', target, source FROM unnest($2::text[], $3::text[]) AS t(target, source)
                    ON CONFLICT DO NOTHING
                    """, [twin.id, targets, sources])
            }
        }
        try await connection.execute(
            """
            INSERT INTO registry.twin_history (twin_id, version, op, actor, changed, at, doc)
            VALUES ($1, $2, $3, $4, $5, $6::timestamptz, $7::jsonb)
            """,
            [twin.id, twin.version, op, actor, TwinDraft.changedFields(from: previous, to: twin), twin.updatedAt.iso8601, doc])
    }
}
