import DTPPostgres
import Foundation
import Logging

/// The registry's schema, as numbered migrations applied at start-up.
///
/// Each migration runs once, recorded in `registry.schema_migrations`. The whole run holds a
/// transaction-scoped advisory lock, taken before anything else (even `CREATE SCHEMA`), so that two
/// replicas starting at the same moment apply the migrations one after the other: the second one waits,
/// then finds them recorded and does nothing. A failing migration rolls back with everything after it.
enum Migrations {
    /// The advisory lock key of the migrator ("DTPM").
    static let lockKey: Int64 = 0x4454_504D

    /// One step of the schema.
    typealias Migration = PostgresMigration

    static let all: [Migration] = [
        Migration(
            version: 1, name: "twins, history and the event outbox",
            sql: """
                CREATE TABLE registry.twin (
                    id text COLLATE "C" PRIMARY KEY,
                    tenant text NOT NULL,
                    status text NOT NULL,
                    name text,
                    domains text[] NOT NULL DEFAULT '{}',
                    doc jsonb NOT NULL,
                    version integer NOT NULL,
                    created_at timestamptz NOT NULL,
                    updated_at timestamptz NOT NULL,
                    updated_by text
                );
                CREATE INDEX twin_tenant_id ON registry.twin (tenant, id);
                CREATE INDEX twin_updated_at ON registry.twin (updated_at);
                CREATE TABLE registry.twin_history (
                    seq bigserial PRIMARY KEY,
                    twin_id text NOT NULL,
                    version integer NOT NULL,
                    op text NOT NULL,
                    actor text,
                    changed text[] NOT NULL DEFAULT '{}',
                    at timestamptz NOT NULL,
                    doc jsonb NOT NULL
                );
                CREATE INDEX twin_history_twin ON registry.twin_history (twin_id, seq);
                CREATE TABLE registry.event (
                    id bigserial PRIMARY KEY,
                    tenant text NOT NULL,
                    type text NOT NULL,
                    actor text,
                    data text NOT NULL,
                    ts timestamptz NOT NULL DEFAULT now()
                );
                """),
        Migration(
            version: 2, name: "services, relationships and artifacts",
            sql: """
                CREATE TABLE registry.service (
                    id uuid PRIMARY KEY,
                    tenant text NOT NULL,
                    name text NOT NULL,
                    category text NOT NULL,
                    doc jsonb NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    updated_at timestamptz NOT NULL DEFAULT now(),
                    updated_by text,
                    UNIQUE (tenant, name)
                );
                CREATE TABLE registry.relationship (
                    from_id text NOT NULL,
                    type text NOT NULL,
                    to_id text NOT NULL,
                    source text NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (from_id, type, to_id, source)
                );
                CREATE INDEX relationship_to ON registry.relationship (to_id);
                CREATE TABLE registry.artifact (
                    twin_id text NOT NULL,
                    name text NOT NULL,
                    bucket text NOT NULL,
                    key text NOT NULL,
                    size bigint NOT NULL,
                    sha256 text NOT NULL,
                    content_type text NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    created_by text,
                    PRIMARY KEY (twin_id, name)
                );
                CREATE TABLE registry.mirror_cursor (
                    name text PRIMARY KEY,
                    last_id bigint NOT NULL
                );
                """),
        Migration(
            version: 3, name: "outbox readers that wait for in-flight writers",
            // See EventOutbox: writers hold the lock shared from taking an event id to their commit; a
            // reader takes it exclusively, which waits until every id handed out so far is committed or
            // rolled back, then reads with a fresh snapshot (each statement of a VOLATILE plpgsql function
            // gets one). The lock is released when the reader's statement ends.
            sql: """
                CREATE OR REPLACE FUNCTION registry.events_after(
                    after_id bigint, only_tenant text, only_types text[], max_rows bigint)
                RETURNS TABLE (id bigint, tenant text, type text, data text)
                LANGUAGE plpgsql VOLATILE AS $$
                BEGIN
                    PERFORM pg_advisory_xact_lock(\(EventOutbox.lockKey));
                    RETURN QUERY
                        SELECT e.id, e.tenant, e.type, e.data FROM registry.event e
                        WHERE e.id > after_id AND (only_tenant IS NULL OR e.tenant = only_tenant)
                            AND (only_types IS NULL OR e.type = ANY(only_types))
                        ORDER BY e.id LIMIT max_rows;
                END
                $$;
                CREATE OR REPLACE FUNCTION registry.event_horizon() RETURNS bigint
                LANGUAGE plpgsql VOLATILE AS $$
                BEGIN
                    PERFORM pg_advisory_xact_lock(\(EventOutbox.lockKey));
                    RETURN (SELECT coalesce(max(e.id), 0) FROM registry.event e);
                END
                $$;
                """),
        Migration(
            version: 4, name: "group commit of twin writes",
            // One call writes a batch of twins, each only if its row is still the version the writer read
            // (compare-and-set on version and updated_at), with its history row, its declared relationships
            // when they changed, and its event; it returns (n, event_id) for each item written, and items it
            // leaves out lost their race. A plpgsql function keeps its plan for the session, where the same
            // statement sent as text was parsed and planned again on every write.
            //
            // Row locks are taken before the outbox lock (`ordered` reads every written row first), as in
            // every other writer, so a writer waiting on a row never holds the outbox lock meanwhile.
            // Event ids are drawn in item order, so the n-th written item has the n-th smallest id.
            //
            // The planner takes json_to_recordset for 100 rows, and would then join a small twin table by
            // reading all of it; a batch is a few dozen twins, so the function joins through the primary key.
            sql: """
                CREATE OR REPLACE FUNCTION registry.put_twins(items json)
                RETURNS TABLE (n integer, event_id bigint)
                LANGUAGE plpgsql VOLATILE
                SET enable_hashjoin = off SET enable_mergejoin = off SET plan_cache_mode = force_generic_plan
                AS $$
                #variable_conflict use_column
                DECLARE
                    written_count bigint;
                BEGIN
                    RETURN QUERY
                    WITH input AS (
                        SELECT * FROM json_to_recordset(items) AS i(
                            n integer, id text, tenant text, status text, name text, domains text[], doc text,
                            version integer, prev_version integer, prev_updated_at timestamptz,
                            created_at timestamptz, updated_at timestamptz, actor text, op text, changed text[],
                            event text, deps text[], dep_sources text[])
                    ),
                    updated AS (
                        UPDATE registry.twin t SET tenant = i.tenant, status = i.status, name = i.name,
                            domains = i.domains, doc = i.doc::jsonb, version = i.version, created_at = i.created_at,
                            updated_at = i.updated_at, updated_by = i.actor
                        FROM input i
                        WHERE i.prev_version IS NOT NULL AND t.id = i.id AND t.version = i.prev_version
                            AND t.updated_at = i.prev_updated_at
                        RETURNING i.n, t.doc
                    ),
                    inserted AS (
                        INSERT INTO registry.twin AS t
                            (id, tenant, status, name, domains, doc, version, created_at, updated_at, updated_by)
                        SELECT i.id, i.tenant, i.status, i.name, i.domains, i.doc::jsonb, i.version, i.created_at,
                            i.updated_at, i.actor
                        FROM input i WHERE i.prev_version IS NULL ORDER BY i.id
                        ON CONFLICT (id) DO NOTHING
                        RETURNING t.id, t.doc
                    ),
                    written AS (
                        SELECT i.*, u.doc AS stored FROM input i JOIN updated u ON u.n = i.n
                        UNION ALL
                        SELECT i.*, x.doc AS stored FROM input i JOIN inserted x ON x.id = i.id
                        WHERE i.prev_version IS NULL
                    ),
                    history AS (
                        INSERT INTO registry.twin_history (twin_id, version, op, actor, changed, at, doc)
                        SELECT w.id, w.version, w.op, w.actor, w.changed, w.updated_at, w.stored
                        FROM written w ORDER BY w.n
                    ),
                    unlinked AS (
                        DELETE FROM registry.relationship r USING written w
                        WHERE w.deps IS NOT NULL AND r.from_id = w.id AND r.source IN ('static', 'dynamic')
                            AND NOT (r.type = 'depends_on'
                                AND (r.to_id, r.source) IN (SELECT * FROM unnest(w.deps, w.dep_sources)))
                    ),
                    linked AS (
                        INSERT INTO registry.relationship (from_id, type, to_id, source)
                        SELECT w.id, 'depends_on', d.target, d.source
                        FROM written w, unnest(w.deps, w.dep_sources) AS d(target, source)
                        WHERE w.deps IS NOT NULL
                        ON CONFLICT DO NOTHING
                    ),
                    ordered AS (
                        SELECT pg_advisory_xact_lock_shared(\(EventOutbox.lockKey))
                        FROM (SELECT count(*) AS c FROM written) w WHERE w.c > 0
                    ),
                    events AS (
                        INSERT INTO registry.event (tenant, type, actor, data)
                        SELECT w.tenant, 'twin.update', w.actor, w.event FROM written w, ordered ORDER BY w.n
                        RETURNING id
                    )
                    SELECT w.n, e.id
                    FROM (SELECT written.n, row_number() OVER (ORDER BY written.n) AS r FROM written) w
                    JOIN (SELECT events.id, row_number() OVER (ORDER BY events.id) AS r FROM events) e ON e.r = w.r;
                    GET DIAGNOSTICS written_count = ROW_COUNT;
                    IF written_count > 0 THEN
                        PERFORM pg_notify('\(EventOutbox.channel)', currval('registry.event_id_seq')::text);
                    END IF;
                END
                $$;
                """),
    ]

    /// Applies the migrations that `pool`'s database lacks; returns the versions it applied.
    @discardableResult
    static func migrate(_ pool: PostgresPool, logger: Logger) async throws -> [Int] {
        try await PostgresMigrator.migrate(pool, schema: "registry", lockKey: lockKey, migrations: all, logger: logger)
    }
}
