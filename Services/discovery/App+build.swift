import DTPAuth
import DTPHTTP
import DTPServiceKit
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// The parts of a running discovery, so tests can reach the engine behind the application.
struct DiscoveryParts: Sendable {
    let engine: DiscoveryEngine
    let watcher: InotifyWatcher
    let client: HTTPClient
}

/// Builds discovery: the registry link, the engine, the watcher and the routes. Tests build the very
/// same application.
func buildApplication(_ config: DiscoveryConfig, logger: Logger? = nil) throws -> (some ApplicationProtocol, DiscoveryParts) {
    let logger = logger ?? ServiceLogging.bootstrap(service: config.settings.name, level: config.settings.logLevel)
    let parts = try buildParts(config, logger: logger)
    let readiness = [
        ReadinessCheck("registry") {
            let response = try await parts.client.execute(DTPHTTP.HTTPRequest(url: config.registryURL + "/healthz"))
            guard response.isSuccess else { throw RegistryUnavailable(description: "HTTP \(response.status)") }
        }
    ]
    let router = ServiceApplication.router(
        settings: config.settings, context: BasicRequestContext.self, readiness: readiness)
    StatusController(engine: parts.engine, serviceTokens: ServiceTokens(config.serviceTokens)).addRoutes(to: router)
    let services: [any Service] = [
        DiscoveryService(engine: parts.engine, watcher: parts.watcher, config: config, logger: logger),
        ClientCloser(client: parts.client),
    ]
    let app = ServiceApplication.application(settings: config.settings, router: router, services: services, logger: logger)
    return (app, parts)
}

/// The HTTP client, registry link, engine and watcher of a configuration.
func buildParts(_ config: DiscoveryConfig, logger: Logger) throws -> DiscoveryParts {
    let (client, engine) = try buildEngine(config, logger: logger)
    let watcher = try InotifyWatcher(
        roots: config.roots, debounce: config.debounce, maxDebounce: config.maxDebounce, logger: logger)
    return DiscoveryParts(engine: engine, watcher: watcher, client: client)
}

/// The HTTP client and the engine writing through it to the registry.
func buildEngine(_ config: DiscoveryConfig, logger: Logger) throws -> (HTTPClient, DiscoveryEngine) {
    let client = try HTTPClient(configuration: HTTPClient.Configuration(timeout: .seconds(60), logger: logger))
    let link = RegistryLink(client: client, baseURL: config.registryURL, token: config.registryToken)
    return (client, DiscoveryEngine(roots: config.roots, link: link, logger: logger))
}

/// Shuts the HTTP client down after the server and the watcher have stopped.
struct ClientCloser: Service {
    let client: HTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        await client.shutdown()
    }
}
