import DTPAuth
import DTPHTTP
import DTPPostgres
import DTPServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ServiceLifecycle

/// The gateway's parts that outlive a request, built once.
struct GatewayParts: Sendable {
    let config: GatewayConfig
    let pool: PostgresPool
    let store: GatewayStore
    let hasher: PasswordHasher
    let tokens: TokenIssuer
    let http: HTTPClient
    let registry: Upstream
    let hub: PortalHub
    let follower: RegistryFollower
    let health: HealthChecker
    let lastData: LastDataCache
    let tickets = StreamTickets()
    let throttle: LoginThrottle
    let logger: Logger
}

/// Builds the gateway: migrates its schema, creates the bootstrap users, loads grants, and wires every
/// route. Tests build the very same application.
func buildApplication(_ config: GatewayConfig) async throws -> some ApplicationProtocol {
    let parts = try await buildParts(config)
    let router = try buildRouter(parts)
    return ServiceApplication.application(
        settings: config.settings, router: router,
        services: [parts.hub, parts.follower, parts.health, Closer(pool: parts.pool, http: parts.http)],
        logger: parts.logger)
}

/// Everything but the router.
func buildParts(_ config: GatewayConfig) async throws -> GatewayParts {
    let logger = ServiceLogging.bootstrap(service: config.settings.name, level: config.settings.logLevel)
    let pool = PostgresPool(configuration: config.postgres, size: config.poolSize, logger: logger)
    let index = AccessIndex()
    let store = GatewayStore(pool: pool, index: index)
    let hasher = PasswordHasher(cost: config.bcryptCost)
    let tokens = try TokenIssuer(
        secret: config.jwtSecret.value, accessLifetime: config.accessLifetime, refreshLifetime: config.refreshLifetime)
    let http: HTTPClient
    do {
        try await Migrations.migrate(pool, logger: logger)
        try await store.bootstrap(config.bootstrapUsers, hasher: hasher, logger: logger)
        try await store.load()
        for (session, expires) in try await store.activeRevocations() { tokens.markRevoked(session, until: expires) }
        http = try HTTPClient(configuration: HTTPClient.Configuration(logger: logger))
    } catch {
        await pool.close()
        throw error
    }
    let token = config.serviceToken.value
    let registry = Upstream(client: http, baseURL: config.registryURL, token: token)
    let hub = PortalHub(
        index: index, clientBuffer: config.clientBuffer, replayLimit: config.replayEvents,
        heartbeat: config.heartbeat, logger: logger)
    return GatewayParts(
        config: config, pool: pool, store: store, hasher: hasher, tokens: tokens, http: http, registry: registry,
        hub: hub,
        follower: RegistryFollower(
            registry: registry, store: store, hub: hub, defaultGrant: config.defaultGrant, logger: logger),
        health: HealthChecker(registry: registry, hub: hub, interval: config.healthInterval, logger: logger),
        lastData: LastDataCache(
            ingestor: Upstream(client: http, baseURL: config.ingestorURL, token: token), ttl: config.lastDataTTL),
        throttle: LoginThrottle(
            perUser: config.loginFailuresPerUser, perAddress: config.loginFailuresPerAddress,
            window: config.loginWindow),
        logger: logger)
}

/// The router with every route of the gateway.
func buildRouter(_ parts: GatewayParts) throws -> Router<GatewayContext> {
    let config = parts.config
    let pool = parts.pool
    let readiness = [ReadinessCheck("postgres") { _ = try await pool.query("SELECT 1") }]
    let router = ServiceApplication.router(settings: config.settings, context: GatewayContext.self, readiness: readiness)
    router.add(middleware: FieldErrorsMiddleware())
    router.add(middleware: SecurityHeadersMiddleware(
        policy: ProcessInfo.processInfo.environment["DTP_PORTAL_CSP"] ?? SecurityHeadersMiddleware.defaultPolicy))
    if !config.corsOrigins.isEmpty {
        router.add(middleware: CORSOriginsMiddleware(origins: Set(config.corsOrigins)))
    }
    if let directory = config.portalDirectory {
        router.add(middleware: IndexFallbackMiddleware(directory: directory))
        router.add(
            middleware: FileMiddleware<GatewayContext, LocalFileSystem>(
                directory, urlBasePath: nil,
                cacheControl: CacheControl([
                    (.textHtml, [.noCache]), (MediaType(type: .any), [.public, .maxAge(300)]),
                ]),
                searchForIndexHtml: true, logger: parts.logger))
    }
    router.add(
        middleware: AuthMiddleware(
            tokens: parts.tokens, index: parts.store.index,
            serviceTokens: ServiceTokens(config.serviceToken.value.isEmpty ? [:] : ["gateway": config.serviceToken.value])))
    OpenAPIController().addRoutes(to: router)
    TokenController(
        store: parts.store, hasher: parts.hasher, tokens: parts.tokens, throttle: parts.throttle,
        tickets: parts.tickets, secureCookies: config.secureCookies, maxBodyBytes: config.maxBodyBytes
    ).addRoutes(to: router)
    PortalStreamController(hub: parts.hub, tickets: parts.tickets, tokens: parts.tokens).addRoutes(to: router)
    PortalController(
        pool: pool, health: parts.health, influxConfigured: config.influxConfigured, lastData: parts.lastData,
        index: parts.store.index
    ).addRoutes(to: router)
    AdminController(
        store: parts.store, hasher: parts.hasher, hub: parts.hub, registry: parts.registry,
        discovery: Upstream(client: parts.http, baseURL: config.discoveryURL, token: config.serviceToken.value),
        maxBodyBytes: config.maxBodyBytes
    ).addRoutes(to: router)
    RegistryProxy(
        registry: parts.registry, index: parts.store.index, maxBodyBytes: config.maxBodyBytes,
        maxArtifactBytes: config.maxArtifactBytes
    ).addRoutes(to: router)
    return router
}

/// Closes the pool and the HTTP client when the application shuts down, after the server has stopped.
struct Closer: ServiceLifecycle.Service {
    let pool: PostgresPool
    let http: HTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        await pool.close()
        await http.shutdown()
    }
}
