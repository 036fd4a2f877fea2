import DTPPostgres
import DTPServiceKit
import DTPTestSupport
import Foundation
import Logging
import ServiceLifecycle

@testable import Registry

/// A real registry (the `Registry` module's own application) serving on a free port against `database`,
/// for the gateway to follow and forward to.
enum RegistryProcess {
    /// Runs `body` while the registry serves at the returned base URL.
    static func with(
        database: PostgresConfiguration, serviceToken: String, jwtSecret: String,
        _ body: (String) async throws -> Void
    ) async throws {
        let config = RegistryConfig(
            settings: ServiceSettings(name: "registry", port: TestPorts.free(), logLevel: .warning),
            postgres: database, poolSize: 4, serviceTokens: ["gateway": serviceToken],
            jwtSecret: Secret(jwtSecret), heartbeat: .seconds(5))
        let app = try await buildApplication(config)
        let group = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "test.registry")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                try await body("http://127.0.0.1:\(config.settings.port)")
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}
