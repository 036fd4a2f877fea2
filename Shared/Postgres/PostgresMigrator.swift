import Logging

/// One versioned step of a schema.
public struct PostgresMigration: Sendable {
    /// The version, increasing; recorded once applied.
    public let version: Int
    /// A short name, recorded with the version.
    public let name: String
    /// The SQL script (several statements allowed).
    public let sql: String

    /// A migration `version` called `name` running `sql`.
    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

/// Applies versioned migrations to one schema, safely when several replicas start at once.
///
/// Everything runs in one transaction that first takes a transaction-scoped advisory lock (`lockKey`,
/// one per schema): a second replica waits for the first, then finds every version recorded in
/// `<schema>.schema_migrations` and applies nothing. A failing migration rolls back with everything after it.
public enum PostgresMigrator {
    /// Applies the `migrations` that `schema` lacks, in order, then runs `after` in the same transaction
    /// (for steps that depend on the server, such as an optional extension); returns the versions applied.
    @discardableResult
    public static func migrate(
        _ pool: PostgresPool, schema: String, lockKey: Int64, migrations: [PostgresMigration], logger: Logger,
        after: (@Sendable (PostgresConnection) async throws -> Void)? = nil
    ) async throws -> [Int] {
        try await pool.transaction { connection in
            try await connection.execute("SELECT pg_advisory_xact_lock($1)", [lockKey])
            try await connection.executeScript(
                """
                CREATE SCHEMA IF NOT EXISTS \(schema);
                CREATE TABLE IF NOT EXISTS \(schema).schema_migrations (
                    version integer PRIMARY KEY,
                    name text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                );
                """)
            let done = Set(
                try await connection.query("SELECT version FROM \(schema).schema_migrations").map {
                    try $0.decode(Int.self, at: 0)
                })
            var applied: [Int] = []
            for migration in migrations.sorted(by: { $0.version < $1.version }) where !done.contains(migration.version) {
                try await connection.executeScript(migration.sql)
                try await connection.execute(
                    "INSERT INTO \(schema).schema_migrations (version, name) VALUES ($1, $2)",
                    [migration.version, migration.name])
                applied.append(migration.version)
                logger.notice("applied migration", metadata: ["schema": "\(schema)", "version": "\(migration.version)"])
            }
            try await after?(connection)
            return applied
        }
    }
}
