import DTPHTTP
import DTPModel
import DTPPostgres
import DTPServiceKit
import DTPTestSupport
import Foundation
import Hummingbird
import Logging
import Testing

@testable import DTPAuth
@testable import PortalGateway

@Suite("Gateway service", .timeLimit(.minutes(3)))
struct ServiceTests {
    @Test("OpenAPI lists every registered route, and nothing else")
    func openAPI() async throws {
        try await GatewayHarness.with { gateway in
            let document = try GatewayHarness.json(try await gateway.send(.get, "/openapi.json"))
            let paths = try #require(document["paths"]?.objectValue)
            var documented: Set<String> = []
            for (path, item) in paths {
                for method in item.objectValue!.keys { documented.insert("\(method.uppercased()) \(path)") }
            }
            let parts = try await buildParts(gateway.config)
            let router = try buildRouter(parts)
            let registered = Set(
                router.routes.map { route in
                    let path = route.path.description.split(separator: "/").map { segment in
                        segment.hasPrefix(":") ? "{\(segment.dropFirst())}" : String(segment)
                    }.joined(separator: "/")
                    return "\(route.method) /\(path)"
                })
            await parts.pool.close()
            await parts.http.shutdown()
            #expect(registered == documented)
        }
    }

    @Test("healthz keeps the earlier shape with service badges; last-data says when the ingestor is away; scan 502")
    func healthAndLastData() async throws {
        // The gateway registers itself (as `dtp-gateway`) when it knows its own URL.
        let port = TestPorts.free()
        try await GatewayHarness.with(configure: {
            $0.settings.port = port
            $0.publicURL = "http://127.0.0.1:\(port)"
        }) { gateway in
            let admin = try await gateway.login(GatewayHarness.admin)
            // A registered service that is down.
            for (name, url) in [("down", "http://127.0.0.1:\(TestPorts.free())/healthz")] {
                let response = try await gateway.send(
                    .post, "/api/registry/services", token: admin.access,
                    json: [
                        "name": .string(name), "tenant": "demo", "category": "UI",
                        "interfaces": ["api": .string(url)], "health": ["url": .string(url)],
                    ])
                #expect(response.status == 201)
            }
            try await gateway.waitFor(.seconds(8)) {
                let body = try GatewayHarness.json(try await gateway.send(.get, "/api/healthz"))
                return body["services"]?.arrayValue?.count == 2
            }
            let health = try GatewayHarness.json(try await gateway.send(.get, "/api/healthz"))
            #expect(health["ok"] == true && health["db"] == true && health["cron"] == true)
            #expect(health["influx_configured"] == false && health["ts"]?.stringValue != nil)
            let services = try #require(health["services"]?.arrayValue)
            #expect(services.first { $0["name"] == "dtp-gateway" }?["ok"] == true)
            #expect(services.first { $0["name"] == "down" }?["ok"] == false)
            #expect(services.allSatisfy { $0["latency_ms"]?.intValue != nil && $0["checked_at"]?.stringValue != nil })

            try await gateway.createTwin("dt:Data_001", name: "Data", adminToken: admin.access)
            try await gateway.waitFor {
                let cards = try GatewayHarness.json(try await gateway.send(.get, "/api/me/twins/", token: admin.access))
                return cards.arrayValue?.isEmpty == false
            }
            let last = try GatewayHarness.json(try await gateway.send(.get, "/api/last-data/my", token: admin.access))
            #expect(last["items"] == [] && last["count"] == 0 && last["ingestor"] == "unreachable")
            let scan = try await gateway.send(.post, "/api/admin/scan", token: admin.access)
            #expect(scan.status == 502)
            #expect(try GatewayHarness.json(scan)["detail"] == "discovery is unreachable")
        }
    }

    @Test("the portal's files with cache and security headers, index.html for unknown pages, CORS only when set")
    func staticFiles() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("portal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("<!doctype html><title>portal</title>".utf8).write(to: directory.appendingPathComponent("index.html"))
        try Data("console.log(1)".utf8).write(to: directory.appendingPathComponent("app.js"))
        try await GatewayHarness.with(configure: {
            $0.portalDirectory = directory.path
            $0.corsOrigins = ["https://portal.example"]
        }) { gateway in
            let index = try await gateway.send(.get, "/")
            #expect(index.status == 200 && index.bodyText.contains("portal"))
            #expect(index.headers.first(name: "Cache-Control")?.contains("no-cache") == true)
            let csp = try #require(index.headers.first(name: "Content-Security-Policy"))
            #expect(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline") && csp.contains("frame-ancestors 'none'"))
            #expect(index.headers.first(name: "X-Content-Type-Options") == "nosniff")
            #expect(index.headers.first(name: "X-Request-ID") != nil)
            let script = try await gateway.send(.get, "/app.js")
            #expect(script.status == 200 && script.headers.first(name: "Cache-Control")?.contains("max-age=300") == true)
            let page = try await gateway.send(.get, "/twins/dt:Lift_001")
            #expect(page.status == 200 && page.bodyText.contains("portal"))
            let api = try await gateway.send(.get, "/api/nothing-here")
            #expect(api.status == 404 && api.bodyText.contains("detail"))
            let cors = try await gateway.send(.get, "/api/healthz", headers: ["Origin": "https://portal.example"])
            #expect(cors.headers.first(name: "Access-Control-Allow-Origin") == "https://portal.example")
            let foreign = try await gateway.send(.get, "/api/healthz", headers: ["Origin": "https://evil.example"])
            #expect(foreign.headers.first(name: "Access-Control-Allow-Origin") == nil)
            let big = String(repeating: "x", count: 2 << 20)
            let admin = try await gateway.login(GatewayHarness.admin)
            #expect(try await gateway.send(.post, "/api/admin/twins", token: admin.access, body: big).status == 413)
        }
    }

    @Test("production refuses default passwords and secret; migrations and bootstrap are idempotent")
    func configAndBootstrap() async throws {
        var reader = ConfigReader(["DTP_ENV": "production", "DTP_PG_URL": "postgres://dtp@127.0.0.1:5432/dtp"])
        _ = GatewayConfig(reader: &reader)
        let keys = Set(reader.problems.map(\.key))
        #expect(keys == ["DTP_JWT_SECRET", "DTP_ADMIN_PASSWORD", "DTP_DEMO_PASSWORD"])
        var good = ConfigReader([
            "DTP_ENV": "production", "DTP_JWT_SECRET": String(repeating: "s", count: 40),
            "DTP_ADMIN_PASSWORD": "a-real-password", "DTP_BOOTSTRAP_DEMO": "false",
            "DTP_PG_URL": "postgres://dtp@127.0.0.1:5432/dtp",
        ])
        let config = GatewayConfig(reader: &good)
        #expect(good.problems.isEmpty)
        #expect(config.bootstrapUsers.map(\.username) == ["admin@example.com"])
        var local = ConfigReader(["DTP_PG_URL": "postgres://dtp@127.0.0.1:5432/dtp"])
        let localConfig = GatewayConfig(reader: &local)
        #expect(local.problems.isEmpty && localConfig.defaultGrant == .all)
        #expect(localConfig.bootstrapUsers.map(\.username) == ["admin@example.com", "demo@example.com"])

        let database = try await TestDatabase.create(prefix: "gw_")
        let pool = PostgresPool(configuration: database, size: 2)
        let logger = Logger(label: "test")
        async let first = Migrations.migrate(pool, logger: logger)
        async let second = Migrations.migrate(pool, logger: logger)
        let applied = try await [first, second]
        #expect(applied.flatMap { $0 } == [1])
        let store = GatewayStore(pool: pool, index: AccessIndex())
        let hasher = PasswordHasher(cost: 10)
        let users = GatewayHarness.config(database: database, registryURL: "", token: "").bootstrapUsers
        try await store.bootstrap(users, hasher: hasher, logger: logger)
        try await store.bootstrap(users, hasher: hasher, logger: logger)
        let rows = try await pool.query("SELECT username, is_staff, password_hash FROM gateway.app_user ORDER BY username")
        #expect(try rows.map { try $0.decode(String.self, at: 0) } == ["admin@example.com", "demo@example.com"])
        #expect(try rows.map { try $0.decode(Bool.self, at: 1) } == [true, false])
        #expect(try rows.allSatisfy { try $0.decode(String.self, at: 2).hasPrefix("$2b$10$") })
        await pool.close()
        try await TestDatabase.drop(database)
    }
}
