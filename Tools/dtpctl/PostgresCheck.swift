import DTPPostgres
import Foundation

/// Postgres/Timescale: insert an observation, shaped as the telemetry schema's, and read it back.
///
/// The row goes to a temporary table, so the check leaves nothing behind and needs no schema.
enum PostgresCheck {
    static func probe(_ environment: [String: String]) throws -> WiringCheck.Probe {
        let configuration: PostgresConfiguration
        if let url = environment["DTP_PG_URL"], !url.isEmpty {
            configuration = try PostgresConfiguration(url: url)
        } else if environment["PGHOST"] != nil || environment["PGUSER"] != nil {
            configuration = try PostgresConfiguration(environment: environment)
        } else {
            throw WiringCheck.NotConfigured(reason: "DTP_PG_URL and PGHOST are not set")
        }
        return { _ in
            let pool = PostgresPool(configuration: configuration, size: 1, acquireTimeout: .seconds(10))
            do {
                let result = try await check(pool)
                await pool.close()
                return result
            } catch {
                await pool.close()
                throw error
            }
        }
    }

    static func check(_ pool: PostgresPool) async throws -> (version: String?, detail: String) {
        let signal = UUID()
        let value = Double.random(in: 0..<1000)
        let (version, timescale, readBack) = try await pool.transaction { connection in
            let version = try await connection.query("SHOW server_version").first?.decode(String.self, at: 0)
            let timescale = try await connection.query(
                "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
            ).first?.decode(String.self, at: 0)
            _ = try await connection.execute(
                """
                CREATE TEMP TABLE wiring_check_observation (
                    signal_id uuid NOT NULL, ts timestamptz NOT NULL, value_double double precision,
                    source text, PRIMARY KEY (signal_id, ts)) ON COMMIT DROP
                """)
            _ = try await connection.execute(
                "INSERT INTO wiring_check_observation VALUES ($1, now(), $2, 'dtpctl')", [signal, value])
            let readBack = try await connection.query(
                "SELECT value_double FROM wiring_check_observation WHERE signal_id = $1", [signal]
            ).first?.decode(Double.self, at: 0)
            return (version, timescale, readBack)
        }
        guard readBack == value else {
            throw Mismatch(description: "wrote observation \(value), read back \(readBack.map { "\($0)" } ?? "nothing")")
        }
        let flavour = timescale.map { "TimescaleDB \($0)" } ?? "plain PostgreSQL (no TimescaleDB)"
        return (version.map { "PostgreSQL \($0)" }, "observation written and read back; \(flavour)")
    }
}
