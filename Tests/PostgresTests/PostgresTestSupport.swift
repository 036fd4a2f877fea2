import DTPPostgres
import DTPTestSupport
import Foundation
import Testing

/// Helpers shared by the PostgreSQL tests: pools with a unique `application_name`, private schemas and
/// a count of the server's sessions.
enum PG {
    /// The shared server's configuration, tagged with a unique application name.
    static func configuration(_ tag: String, url: String? = nil) throws -> PostgresConfiguration {
        var configuration = try PostgresConfiguration(url: url ?? TestEnvironment.shared.require("DTP_PG_URL"))
        configuration.applicationName = "dtp-test-\(tag)-\(UUID().uuidString.prefix(8).lowercased())"
        return configuration
    }

    /// A pool on the shared server.
    static func pool(
        _ tag: String, size: Int = 4, acquireTimeout: Duration = .seconds(10)
    ) throws -> PostgresPool {
        PostgresPool(configuration: try configuration(tag), size: size, acquireTimeout: acquireTimeout)
    }

    /// The sessions the server has open for `applicationName`, seen from a connection of its own.
    static func sessionCount(_ applicationName: String, url: String? = nil) async throws -> Int {
        let monitor = PostgresPool(configuration: try configuration("monitor", url: url), size: 1)
        do {
            let rows = try await monitor.query(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", [applicationName])
            let count = try rows[0].decode(Int.self, at: 0)
            await monitor.close()
            return count
        } catch {
            await monitor.close()
            throw error
        }
    }

    /// Waits (bounded) until the server shows `expected` sessions for `applicationName`: backends end
    /// a moment after the client has closed its socket.
    static func waitForSessionCount(
        _ applicationName: String, toBe expected: Int, url: String? = nil
    ) async throws -> Int {
        var count = try await sessionCount(applicationName, url: url)
        let deadline = ContinuousClock.now + .seconds(10)
        while count != expected, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            count = try await sessionCount(applicationName, url: url)
        }
        return count
    }

    /// Runs `body` with a fresh schema that is dropped afterwards.
    static func withSchema<T>(
        _ pool: PostgresPool, _ body: (String) async throws -> T
    ) async throws -> T {
        let schema = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        try await pool.withConnection { try await $0.executeScript("CREATE SCHEMA \(schema)") }
        do {
            let result = try await body(schema)
            try await pool.withConnection { try await $0.executeScript("DROP SCHEMA \(schema) CASCADE") }
            return result
        } catch {
            try? await pool.withConnection { try await $0.executeScript("DROP SCHEMA \(schema) CASCADE") }
            throw error
        }
    }

    /// The error `body` throws, as a ``PostgresError``.
    static func error(_ body: () async throws -> Void) async -> PostgresError? {
        do {
            try await body()
            return nil
        } catch let error as PostgresError {
            return error
        } catch {
            Issue.record("unexpected error type: \(error)")
            return nil
        }
    }
}
