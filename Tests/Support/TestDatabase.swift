import DTPPostgres
import Foundation

/// Databases of their own for tests that run a service against PostgreSQL: created on the shared server
/// with a unique name, dropped afterwards.
public enum TestDatabase {
    /// A fresh database `<prefix><uuid>` on the server of `DTP_PG_URL`; drop it with ``drop(_:)``.
    public static func create(prefix: String) async throws -> PostgresConfiguration {
        var configuration = try PostgresConfiguration(url: try TestEnvironment.shared.require("DTP_PG_URL"))
        let admin = PostgresPool(configuration: configuration, size: 1)
        let name = prefix + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        do {
            try await admin.execute("CREATE DATABASE \(name)")
        } catch {
            await admin.close()
            throw error
        }
        await admin.close()
        configuration.database = name
        return configuration
    }

    /// Drops a database of ``create(prefix:)``. A plain DROP stops an autovacuum worker on the database by
    /// itself, which FORCE cannot (the worker is the superuser's); it fails only while a session of ours
    /// lingers, so it is retried a while before forcing.
    public static func drop(_ configuration: PostgresConfiguration) async throws {
        var adminConfiguration = configuration
        adminConfiguration.database = try PostgresConfiguration(
            url: try TestEnvironment.shared.require("DTP_PG_URL")
        ).database
        let admin = PostgresPool(configuration: adminConfiguration, size: 1)
        do {
            try await drop(configuration.database, using: admin)
            await admin.close()
        } catch {
            await admin.close()
            throw error
        }
    }

    private static func drop(_ database: String, using admin: PostgresPool) async throws {
        for _ in 0..<50 {
            do {
                try await admin.execute("DROP DATABASE IF EXISTS \(database)")
                return
            } catch let error as PostgresError where error.sqlState == "55006" {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        try await admin.execute("DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
    }
}
