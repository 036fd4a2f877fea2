import DTPPostgres
import Foundation
import Logging

/// The `telemetry` schema, as numbered migrations applied at start-up under an advisory lock (replicas
/// starting together apply each once), like the registry's.
///
/// With the TimescaleDB extension installed, `observation` becomes a hypertable on `ts` (compression and
/// retention policies from `DTP_TIMESCALE_COMPRESS_AFTER` / `DTP_TIMESCALE_RETENTION`); without it, as on
/// these machines, it stays a plain table with an index on `ts`. Every primary key holds the message key,
/// so a message delivered or replayed twice is stored once (`INSERT … ON CONFLICT DO NOTHING`).
enum Migrations {
    /// The advisory lock key of the ingestor's migrator ("DTPI").
    static let lockKey: Int64 = 0x4454_5049

    /// One step of the schema.
    typealias Migration = PostgresMigration

    static let all: [Migration] = [
        Migration(
            version: 1, name: "signals, observations, events, rejected payloads and last-seen streams",
            sql: """
                CREATE TABLE telemetry.signal (
                    signal_id text PRIMARY KEY,
                    name text NOT NULL,
                    unit text,
                    twin_id text,
                    created_at timestamptz NOT NULL DEFAULT now()
                );
                CREATE TABLE telemetry.observation (
                    ts timestamptz NOT NULL,
                    signal_id text NOT NULL,
                    message_id uuid NOT NULL,
                    value_double double precision,
                    value_text text,
                    twin_id text,
                    source text,
                    topic text NOT NULL,
                    PRIMARY KEY (signal_id, ts, message_id)
                );
                CREATE INDEX observation_ts ON telemetry.observation (ts DESC);
                CREATE INDEX observation_twin_ts ON telemetry.observation (twin_id, ts DESC);
                CREATE TABLE telemetry.event_log (
                    ts timestamptz NOT NULL,
                    message_id uuid NOT NULL,
                    severity smallint NOT NULL CHECK (severity BETWEEN 0 AND 3),
                    type text NOT NULL,
                    twin_id text,
                    source text,
                    topic text NOT NULL,
                    body jsonb NOT NULL,
                    PRIMARY KEY (message_id, ts)
                );
                CREATE INDEX event_log_ts ON telemetry.event_log (ts DESC);
                CREATE TABLE telemetry.rejected (
                    received_at timestamptz NOT NULL,
                    message_id uuid NOT NULL,
                    topic text NOT NULL,
                    kind text NOT NULL,
                    reason text NOT NULL,
                    payload bytea NOT NULL,
                    payload_bytes integer NOT NULL,
                    PRIMARY KEY (message_id)
                );
                CREATE INDEX rejected_received_at ON telemetry.rejected (received_at DESC);
                CREATE TABLE telemetry.stream_last_seen (
                    twin_id text NOT NULL,
                    stream text NOT NULL,
                    topic text NOT NULL,
                    last_seen timestamptz NOT NULL,
                    messages bigint NOT NULL,
                    PRIMARY KEY (twin_id, stream)
                );
                """),
        // A twin's observations are looked up by twin; those of undeclared streams without a twin never
        // are, and keeping their NULLs in the index cost the database about a quarter of its CPU per row.
        Migration(
            version: 2, name: "the twin index of observations holds only rows with a twin",
            sql: """
                DROP INDEX telemetry.observation_twin_ts;
                CREATE INDEX observation_twin_ts ON telemetry.observation (twin_id, ts DESC)
                    WHERE twin_id IS NOT NULL;
                """),
    ]

    /// Applies what `pool`'s database lacks, then the TimescaleDB conversion where the extension exists.
    @discardableResult
    static func migrate(
        _ pool: PostgresPool, compressAfter: String? = nil, retention: String? = nil, logger: Logger
    ) async throws -> [Int] {
        try await PostgresMigrator.migrate(
            pool, schema: "telemetry", lockKey: lockKey, migrations: all, logger: logger
        ) { connection in
            try await timescale(connection, compressAfter: compressAfter, retention: retention, logger: logger)
        }
    }

    /// Makes `observation` a hypertable when TimescaleDB is installed (once; idempotent), and sets the
    /// policies. The primary key includes `ts`, as a hypertable requires.
    private static func timescale(
        _ connection: PostgresConnection, compressAfter: String?, retention: String?, logger: Logger
    ) async throws {
        let available = try await connection.query(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
        guard !available.isEmpty else { return }
        try await connection.executeScript(
            """
            CREATE EXTENSION IF NOT EXISTS timescaledb;
            SELECT create_hypertable('telemetry.observation', 'ts', if_not_exists => TRUE, migrate_data => TRUE);
            """)
        if let compressAfter {
            try await connection.executeScript(
                """
                ALTER TABLE telemetry.observation
                    SET (timescaledb.compress, timescaledb.compress_segmentby = 'signal_id');
                SELECT add_compression_policy(
                    'telemetry.observation', INTERVAL '\(compressAfter)', if_not_exists => TRUE);
                """)
        }
        if let retention {
            try await connection.executeScript(
                "SELECT add_retention_policy('telemetry.observation', INTERVAL '\(retention)', if_not_exists => TRUE);")
        }
        logger.info("observation is a TimescaleDB hypertable")
    }
}
