import DTPHTTP
import DTPModel
import DTPPostgres
import DTPServiceKit
import DTPTestSupport
import Hummingbird
import Logging
import Testing

@testable import Registry

@Suite("OpenAPI")
struct OpenAPITests {
    @Test("the document lists every registered route, and nothing else")
    func everyRoute() async throws {
        try await RegistryHarness.with { registry in
            let document = try RegistryHarness.json(try await registry.send(.get, "/openapi.json", authorized: false))
            let paths = try #require(document["paths"]?.objectValue)
            var documented: Set<String> = []
            for (path, item) in paths {
                for method in item.objectValue!.keys { documented.insert("\(method.uppercased()) \(path)") }
            }
            let database = try await TestDatabase.create(prefix: "reg_")
            let pool = PostgresPool(configuration: database, size: 1)
            try await Migrations.migrate(pool, logger: Logger(label: "test"))
            let router = try buildRouter(
                registry.config, pool: pool, hub: EventHub(pool: pool, logger: Logger(label: "test")))
            let registered = Set(
                router.routes.map { route in
                    let path = route.path.description.split(separator: "/").map { segment in
                        segment.hasPrefix(":") ? "{\(segment.dropFirst())}" : String(segment)
                    }.joined(separator: "/")
                    return "\(route.method) /\(path)"
                })
            await pool.close()
            try await TestDatabase.drop(database)
            #expect(registered == documented)
        }
    }
}
