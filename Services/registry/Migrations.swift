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
    ]

    /// Applies the migrations that `pool`'s database lacks; returns the versions it applied.
    @discardableResult
    static func migrate(_ pool: PostgresPool, logger: Logger) async throws -> [Int] {
        try await PostgresMigrator.migrate(pool, schema: "registry", lockKey: lockKey, migrations: all, logger: logger)
    }
}
