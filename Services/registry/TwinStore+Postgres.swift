import DTPModel
import DTPPostgres
import DTPServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The twin store over the registry schema: one row per twin holding its API JSON (`doc`) plus the
/// columns that filters use, a history row per revision, and the outbox event, all in one transaction.
///
/// Reads of one twin come from the ``TwinCache`` when it knows the twin, and writes go through
/// ``TwinWriteBatch`` (group commit). A write decides from the version it read; when that came from the
/// cache, every answer other than a successful write (412, 404, 422, "unchanged") is confirmed against
/// the database first, and a successful write is a compare-and-set on the version it read, so a stale
/// cache entry costs a retry, never a wrong answer or a lost update.
struct PostgresTwinStore: TwinStore {
    let pool: PostgresPool
    /// Twins kept in step by the change feed; nil reads every twin from the database.
    let cache: TwinCache?
    let writes: TwinWriteBatch
    /// List pages served again while no twin has changed.
    let listCache = TwinListCache()

    init(pool: PostgresPool, cache: TwinCache? = nil) {
        self.pool = pool
        self.cache = cache
        writes = TwinWriteBatch(pool: pool, cache: cache)
    }

    /// Reads a UNIQUE violation as "someone created it first": the upsert is retried and finds it.
    private static let uniqueViolation = "23505"

    /// How many times a write reads, checks and compares-and-swaps before it falls back to a transaction
    /// that locks the row (which cannot lose the race, so contention never starves a writer).
    private static let optimisticAttempts = 3

    func upsert(_ draft: TwinDraft, precondition: WritePrecondition, actor: String) async throws -> UpsertResult {
        var fromCache = true
        var attempts = 0
        while attempts < Self.optimisticAttempts {
            let (previous, cached) = try await current(draft.id, fromCache: fromCache)
            fromCache = false
            let twin: Twin
            do {
                try precondition.check(previous)
                if let previous, draft.isUnchanged(from: previous) {
                    if cached { continue }
                    return UpsertResult(twin: previous, json: try previous.jsonValue.jsonText(), created: false)
                }
                twin = try draft.version(after: previous, now: .now())
            } catch is APIError where cached {
                continue
            }
            attempts += 1
            let write = try TwinWrite(twin, previous: previous, op: previous == nil ? "create" : "update", actor: actor)
            if try await writes.write(write) != nil {
                return UpsertResult(twin: twin, json: write.json, created: previous == nil)
            }
            fromCache = cacheHasNewer(than: previous, id: draft.id)
        }
        var attempt = 0
        while true {
            attempt += 1
            do {
                let (result, written) = try await pool.transaction { connection in
                    var written = WrittenTwins()
                    let result = try await upsert(
                        draft, precondition: precondition, actor: actor, on: connection, written: &written)
                    try await written.commitEvents(on: connection)
                    return (result, written)
                }
                written.cache(in: cache)
                return result
            } catch let error as PostgresError where error.sqlState == Self.uniqueViolation && attempt < 3 {
                continue
            }
        }
    }

    func bulkUpsert(_ drafts: [Result<TwinDraft, APIError>], actor: String) async throws
        -> [Result<UpsertResult, APIError>]
    {
        let (results, written) = try await pool.transaction { connection in
            var written = WrittenTwins()
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
                                try await upsert(
                                    draft, precondition: .none, actor: actor, on: connection, written: &written)))
                    } catch let error as APIError {
                        results.append(.failure(error))
                    }
                }
            }
            try await written.commitEvents(on: connection)
            return (results, written)
        }
        written.cache(in: cache)
        return results
    }

    /// The upsert inside a transaction; a validation failure throws before anything is written.
    private func upsert(
        _ draft: TwinDraft, precondition: WritePrecondition, actor: String, on connection: PostgresConnection,
        written: inout WrittenTwins
    ) async throws -> UpsertResult {
        let previous = try await Self.lockedTwin(id: draft.id, on: connection)
        try precondition.check(previous)
        if let previous, draft.isUnchanged(from: previous) {
            return UpsertResult(twin: previous, json: try previous.jsonValue.jsonText(), created: false)
        }
        let twin = try draft.version(after: previous, now: .now())
        let json = try await Self.write(
            twin, previous: previous, op: previous == nil ? "create" : "update", actor: actor, on: connection)
        written.append(twin, json: json, actor: actor)
        return UpsertResult(twin: twin, json: json, created: previous == nil)
    }

    func twin(id: String) async throws -> Twin? {
        try await current(id, fromCache: true).twin
    }

    func twinBody(id: String) async throws -> TwinBody? {
        guard let cache else {
            guard
                let row = try await pool.query(
                    "SELECT doc::text, version FROM registry.twin WHERE id = $1", [id]
                ).first
            else { return nil }
            return TwinBody(
                body: ByteBuffer(string: try row.decode(String.self, at: 0)),
                etag: Twin.etag(forVersion: try row.decode(Int.self, at: 1)))
        }
        switch cache.lookup(id) {
        case .present(let entry): return TwinBody(body: entry.body, etag: entry.twin.etag)
        case .absent: return nil
        case .unknown: return try await read(id).map { TwinBody(body: $0.body, etag: $0.twin.etag) }
        }
    }

    /// The twin's current version and whether it came from the cache (only when `fromCache` allows it and
    /// the cache knows the twin); otherwise it is read from the database.
    private func current(_ id: String, fromCache: Bool) async throws -> (twin: Twin?, cached: Bool) {
        if fromCache, let cache {
            switch cache.lookup(id) {
            case .present(let entry): return (entry.twin, true)
            case .absent: return (nil, true)
            case .unknown: break
            }
        }
        return (try await read(id)?.twin, false)
    }

    /// Whether the cache holds another version of the twin than `previous`, the one a write just failed
    /// to replace: usually that of the concurrent write that won, stored by its batch, so the next attempt
    /// can start from it instead of reading the row.
    private func cacheHasNewer(than previous: Twin?, id: String) -> Bool {
        guard case .present(let entry)? = cache?.lookup(id) else { return false }
        return entry.twin.version != previous?.version || entry.twin.updatedAt != previous?.updatedAt
    }

    /// Reads the twin's row, and caches what it found with the feed position taken before the read.
    private func read(_ id: String) async throws -> CachedTwin? {
        let position = cache?.position ?? 0
        let found = try await pool.query("SELECT doc::text FROM registry.twin WHERE id = $1", [id]).first.map {
            try CachedTwin(json: try $0.decode(String.self, at: 0))
        }
        cache?.fill(id, found, readAfter: position)
        return found
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
    ) async throws -> TwinVersion {
        var fromCache = true
        var attempts = 0
        while attempts < Self.optimisticAttempts {
            let (found, cached) = try await current(id, fromCache: fromCache)
            fromCache = false
            let previous: Twin
            let next: Twin?
            do {
                guard let found else { throw APIError.notFound("twin not found") }
                previous = found
                try precondition.check(previous)
                next = try Self.changed(previous, by: change)
            } catch is APIError where cached {
                continue
            }
            guard let twin = next else {
                if cached { continue }
                return TwinVersion(twin: previous, json: try previous.jsonValue.jsonText())
            }
            attempts += 1
            let write = try TwinWrite(twin, previous: previous, op: "update", actor: actor)
            if try await writes.write(write) != nil {
                return TwinVersion(twin: twin, json: write.json)
            }
            fromCache = cacheHasNewer(than: previous, id: id)
        }
        let (version, written) = try await pool.transaction { connection in
            var written = WrittenTwins()
            guard let previous = try await Self.lockedTwin(id: id, on: connection) else {
                throw APIError.notFound("twin not found")
            }
            try precondition.check(previous)
            guard let twin = try Self.changed(previous, by: change) else {
                return (TwinVersion(twin: previous, json: try previous.jsonValue.jsonText()), written)
            }
            let json = try await Self.write(twin, previous: previous, op: "update", actor: actor, on: connection)
            written.append(twin, json: json, actor: actor)
            try await written.commitEvents(on: connection)
            return (TwinVersion(twin: twin, json: json), written)
        }
        written.cache(in: cache)
        return version
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
        let written = try await pool.transaction { connection in
            var written = WrittenTwins()
            guard let previous = try await Self.lockedTwin(id: id, on: connection) else {
                throw APIError.notFound("twin not found")
            }
            try precondition.check(previous)
            if soft {
                // A retired twin stays retired: it is already gone for good.
                guard previous.status != .deprecated, previous.status != .retired else { return written }
                var draft = TwinDraft(previous)
                draft.metadata["status"] = .string(LifecycleStatus.deprecated.rawValue)
                let twin = try draft.version(after: previous, now: .now())
                let json = try await Self.write(twin, previous: previous, op: "deprecate", actor: actor, on: connection)
                written.append(twin, json: json, actor: actor)
                try await written.commitEvents(on: connection)
                return written
            }
            try await connection.execute("DELETE FROM registry.twin WHERE id = $1", [id])
            try await connection.execute(
                "DELETE FROM registry.relationship WHERE from_id = $1 AND source IN ('static', 'dynamic')", [id])
            try await connection.execute(
                """
                INSERT INTO registry.twin_history (twin_id, version, op, actor, changed, at, doc)
                VALUES ($1, $2, 'delete', $3, '{}', now(), $4::jsonb)
                """, [id, previous.version, actor, try previous.jsonValue.jsonText()])
            written.appendDeletion(of: id, tenant: previous.tenant, actor: actor)
            try await written.commitEvents(on: connection)
            return written
        }
        written.cache(in: cache)
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
        return try Twin(storedJSON: row.decode(String.self, at: 0))
    }

    /// Writes the twin's row, its declared relationships and its history entry; returns the twin's JSON.
    static func write(
        _ twin: Twin, previous: Twin?, op: String, actor: String, on connection: PostgresConnection
    ) async throws -> String {
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
        return doc
    }
}

/// The twins a transaction changed and their events: the events are appended last in the transaction,
/// and the twins go into the cache once it has committed, each with its event's id.
struct WrittenTwins: Sendable {
    private var changes: [(id: String, twin: CachedTwin?)] = []
    private var events: [OutboxEvent] = []
    private var eventIDs: [Int64] = []

    /// A new version of a twin, with its `twin.update` event.
    mutating func append(_ twin: Twin, json: String, actor: String) {
        changes.append((twin.id, CachedTwin(twin, json: json)))
        events.append(
            OutboxEvent(
                tenant: twin.tenant, type: .twinUpdate, payload: RegistryEvent.twinUpdatePayload(twin), actor: actor))
    }

    /// A deleted twin, with its `twin.delete` event.
    mutating func appendDeletion(of id: String, tenant: String, actor: String) {
        changes.append((id, nil))
        events.append(
            OutboxEvent(tenant: tenant, type: .twinDelete, payload: RegistryEvent.twinDeletePayload(id: id), actor: actor))
    }

    /// Appends the events; the last statement of the transaction.
    mutating func commitEvents(on connection: PostgresConnection) async throws {
        eventIDs = try await EventOutbox.append(events, on: connection)
    }

    /// Stores every change in `cache`; call only after the transaction committed.
    func cache(in cache: TwinCache?) {
        guard let cache, eventIDs.count == changes.count else { return }
        for (change, event) in zip(changes, eventIDs) { cache.wrote(change.id, change.twin, event: event) }
    }
}
