import DTPHTTP
import DTPModel
import DTPPostgres
import DTPServiceKit
import DTPTestSupport
import Foundation
import Logging
import Testing

@testable import Registry

@Suite("Registry configuration and migrations")
struct ConfigAndMigrationTests {
    @Test("tokens come from DTP_SERVICE_TOKENS and DTP_SERVICE_TOKEN_<NAME>; bad values are all named")
    func configuration() throws {
        var reader = ConfigReader([
            "DTP_PG_URL": "postgresql://dtp:pw@127.0.0.1:25432/dtp",
            "DTP_SERVICE_TOKENS": "gateway:tok-a,ingestor:tok-b",
            "DTP_SERVICE_TOKEN_DISCOVERY": "tok-c",
            "DTP_JWT_SECRET": String(repeating: "k", count: 48),
            "DTP_REGISTRY_HEARTBEAT_SECONDS": "0.5",
        ])
        let config = RegistryConfig(reader: &reader)
        try reader.finish()
        #expect(config.serviceTokens == ["gateway": "tok-a", "ingestor": "tok-b", "discovery": "tok-c"])
        #expect(config.postgres.database == "dtp")
        #expect(config.postgres.port == 25432)
        #expect(config.heartbeat == .milliseconds(500))
        #expect(config.s3 == nil)
        #expect(config.neo4j == nil)

        var bad = ConfigReader([
            "DTP_PG_URL": "mysql://nobody", "DTP_SERVICE_TOKENS": "gateway", "DTP_JWT_SECRET": "short-secret",
        ])
        _ = RegistryConfig(reader: &bad)
        let error = try #require(throws: ConfigurationError.self) { try bad.finish() }
        #expect(Set(error.keys) == ["DTP_PG_URL", "DTP_SERVICE_TOKENS", "DTP_JWT_SECRET"])
        #expect(!error.description.contains("short-secret"))
    }

    @Test("two migrators started at once apply each migration exactly once")
    func concurrentMigrations() async throws {
        let database = try await TestDatabase.create(prefix: "reg_")
        let logger = Logger(label: "test.migrations")
        let first = PostgresPool(configuration: database, size: 1)
        let second = PostgresPool(configuration: database, size: 1)
        async let a = Migrations.migrate(first, logger: logger)
        async let b = Migrations.migrate(second, logger: logger)
        let (appliedA, appliedB) = try await (a, b)
        let all = Migrations.all.map(\.version)
        #expect((appliedA + appliedB).sorted() == all)
        #expect(appliedA.isEmpty || appliedB.isEmpty)
        // Running again changes nothing.
        #expect(try await Migrations.migrate(first, logger: logger).isEmpty)
        let rows = try await first.query("SELECT version FROM registry.schema_migrations ORDER BY version")
        #expect(try rows.map { try $0.decode(Int.self, at: 0) } == all)
        await first.close()
        await second.close()
        try await TestDatabase.drop(database)
    }

    @Test("/readyz reports Postgres, /healthz answers")
    func readiness() async throws {
        try await RegistryHarness.with { registry in
            let ready = try await registry.send(.get, "/readyz", authorized: false)
            #expect(ready.status == 200)
            let body = try RegistryHarness.json(ready)
            #expect(body["checks"]?["postgres"] == "ok")
            #expect(try await registry.send(.get, "/healthz", authorized: false).status == 200)
        }
    }
}
