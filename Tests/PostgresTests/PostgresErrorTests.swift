import DTPPostgres
import DTPTestSupport
import Foundation
import Testing

@Suite("Postgres errors")
struct PostgresErrorTests {
    @Test("server errors carry their SQLSTATE, message and detail")
    func sqlStates() async throws {
        let pool = try PG.pool("errors", size: 2)
        let syntax = await PG.error { try await pool.execute("SELEC 1") }
        #expect(syntax == .server)
        #expect(syntax?.sqlState == "42601")
        #expect(syntax?.message.contains("syntax error") == true)

        let table = "missing_" + UUID().uuidString.prefix(8).lowercased()
        let undefined = await PG.error { _ = try await pool.query("SELECT * FROM \(table)") }
        #expect(undefined?.sqlState == "42P01")
        #expect(undefined?.description.contains(table) == true)

        try await PG.withSchema(pool) { schema in
            try await pool.execute("CREATE TABLE \(schema).u (k text PRIMARY KEY)")
            try await pool.execute("INSERT INTO \(schema).u VALUES ($1)", ["one"])
            let duplicate = await PG.error { try await pool.execute("INSERT INTO \(schema).u VALUES ($1)", ["one"]) }
            #expect(duplicate?.sqlState == "23505")
            #expect(duplicate?.detail?.contains("(k)=(one)") == true)
            #expect(duplicate?.isConnectionLost == false)
        }
        // The pool still answers after errors.
        #expect(try await pool.query("SELECT 1")[0].decode(Int.self, at: 0) == 1)
        await pool.close()
    }

    @Test("a refused connection reports libpq's message and no password")
    func connectionRefused() async throws {
        let url = try TestEnvironment.shared.require("DTP_PG_URL")
        var configuration = try PostgresConfiguration(url: url)
        configuration.password = "wrong-password-\(UUID().uuidString)"
        let pool = PostgresPool(configuration: configuration, size: 1)
        let error = await PG.error { try await pool.execute("SELECT 1") }
        #expect(error == .connection)
        #expect(error?.message.contains("password authentication failed") == true)
        #expect(error?.description.contains(configuration.password!) == false)
        await pool.close()

        let port = TestPorts.free()
        configuration.port = port
        let closed = PostgresPool(configuration: configuration, size: 1)
        let refused = await PG.error { try await closed.execute("SELECT 1") }
        #expect(refused == .connection)
        #expect(refused?.message.contains("\(port)") == true)
        await closed.close()
    }
}
