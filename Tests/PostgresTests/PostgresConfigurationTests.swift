import DTPPostgres
import Foundation
import Testing

@Suite("PostgresConfiguration")
struct PostgresConfigurationTests {
    @Test("parses a URL with encoded credentials and query parameters")
    func url() throws {
        let configuration = try PostgresConfiguration(
            url: "postgresql://svc:p%40ss%3Aw0rd@db.example:6543/twins?application_name=dtp-registry"
                + "&connect_timeout=3&sslmode=disable")
        #expect(configuration.host == "db.example")
        #expect(configuration.port == 6543)
        #expect(configuration.user == "svc")
        #expect(configuration.password == "p@ss:w0rd")
        #expect(configuration.database == "twins")
        #expect(configuration.applicationName == "dtp-registry")
        #expect(configuration.connectTimeout == .seconds(3))
        #expect(configuration.parameters == ["sslmode": "disable"])
        #expect(!configuration.description.contains("p@ss"))
        #expect(!configuration.description.contains("w0rd"))
        #expect(configuration.description.contains("svc"))
    }

    @Test("defaults and rejects what it cannot use")
    func urlDefaultsAndErrors() throws {
        let minimal = try PostgresConfiguration(url: "postgres://alice@localhost")
        #expect(minimal.port == 5432)
        #expect(minimal.database == "alice")
        #expect(minimal.password == nil)
        #expect(throws: PostgresError.self) { try PostgresConfiguration(url: "mysql://a@b/c") }
        #expect(throws: PostgresError.self) { try PostgresConfiguration(url: "postgresql://host/db") }
        #expect(throws: PostgresError.self) {
            try PostgresConfiguration(url: "postgresql://a@b/c?connect_timeout=soon")
        }
    }

    @Test("reads the libpq environment variables")
    func environment() throws {
        let configuration = try PostgresConfiguration(environment: [
            "PGHOST": "10.1.2.3", "PGPORT": "7000", "PGUSER": "bob", "PGPASSWORD": "s3cret-value",
            "PGDATABASE": "dtp", "PGAPPNAME": "dtp-ingestor", "PGCONNECT_TIMEOUT": "4",
        ])
        #expect(configuration.host == "10.1.2.3")
        #expect(configuration.port == 7000)
        #expect(configuration.user == "bob")
        #expect(configuration.password == "s3cret-value")
        #expect(configuration.database == "dtp")
        #expect(configuration.applicationName == "dtp-ingestor")
        #expect(configuration.connectTimeout == .seconds(4))
        #expect(!configuration.description.contains("s3cret"))
        #expect(!"\(configuration)".contains("s3cret"))
        #expect(throws: PostgresError.self) { try PostgresConfiguration(environment: ["PGHOST": "x"]) }
        #expect(throws: PostgresError.self) {
            try PostgresConfiguration(environment: ["PGUSER": "x", "PGPORT": "http"])
        }
    }
}
