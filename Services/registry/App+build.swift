import DTPAuth
import DTPHTTP
import DTPNeo4j
import DTPPostgres
import DTPRegistryClient
import DTPS3
import DTPServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ServiceLifecycle

/// Builds the registry: migrates the schema, starts the event hub, and wires every route. Tests build
/// the very same application.
func buildApplication(_ config: RegistryConfig) async throws -> some ApplicationProtocol {
    let logger = ServiceLogging.bootstrap(service: config.settings.name, level: config.settings.logLevel)
    let pool = PostgresPool(configuration: config.postgres, size: config.poolSize, logger: logger)
    let hub: EventHub
    do {
        try await Migrations.migrate(pool, logger: logger)
        hub = EventHub(
            pool: pool, logger: logger,
            cache: config.twinCacheBytes > 0 ? TwinCache(capacityBytes: config.twinCacheBytes) : nil,
            probeInterval: config.listenProbeInterval)
        try await hub.start()
    } catch {
        await pool.close()
        throw error
    }
    var services: [any Service] = [hub]
    // One libcurl client for the stores behind the registry (S3, Neo4j) and its self-registration, only
    // when one of them is configured.
    var http: HTTPClient?
    if config.s3 != nil || config.neo4j != nil || config.selfRegistration?.registryURL != nil {
        do {
            http = try HTTPClient(configuration: HTTPClient.Configuration(logger: logger))
        } catch {
            await pool.close()
            throw error
        }
    }
    var artifacts: ArtifactStorage?
    if let s3 = config.s3, let http {
        artifacts = ArtifactStorage(
            s3: S3Client(configuration: s3, httpClient: http, logger: logger), maxBytes: config.maxArtifactBytes)
    }
    if let neo4j = config.neo4j, let http {
        services.append(
            Neo4jMirror(
                pool: pool, neo4j: Neo4jClient(configuration: neo4j, httpClient: http, logger: logger), hub: hub,
                logger: logger, initialBackoff: config.mirrorBackoff))
    }
    let router = try buildRouter(config, pool: pool, hub: hub, artifacts: artifacts)
    services.append(Closer(pool: pool, http: http))
    if let http, let registration = config.selfRegistration?.registration(category: "DMS", http: http, logger: logger) {
        services.append(registration)
    }
    return ServiceApplication.application(settings: config.settings, router: router, services: services, logger: logger)
}

/// The router with every route of the registry.
func buildRouter(
    _ config: RegistryConfig, pool: PostgresPool, hub: EventHub, artifacts: ArtifactStorage? = nil
) throws -> Router<RegistryContext> {
    let readiness = [
        ReadinessCheck("postgres") { _ = try await pool.query("SELECT 1") }
    ]
    let router = ServiceApplication.router(settings: config.settings, context: RegistryContext.self, readiness: readiness)
    router.add(middleware: DatabaseBusyMiddleware())
    let signer = try HS256Signer(secret: config.jwtSecret.value)
    let store = PostgresTwinStore(pool: pool, cache: hub.cache)
    let twins = TwinController(store: store, maxBodyBytes: config.maxBodyBytes, maxBulkBytes: config.maxBulkBytes)
    twins.addPublicRoutes(to: router)
    OpenAPIController().addRoutes(to: router)
    let api = router.group("api/registry")
        .add(middleware: AuthMiddleware(serviceTokens: ServiceTokens(config.serviceTokens), signer: signer))
    twins.addRoutes(to: api)
    EventStreamController(hub: hub, heartbeat: config.heartbeat).addRoutes(to: api)
    ServiceController(pool: pool, maxBodyBytes: config.maxBodyBytes).addRoutes(to: api)
    RelationshipController(pool: pool, maxBodyBytes: config.maxBodyBytes).addRoutes(to: api)
    ArtifactController(pool: pool, storage: artifacts).addRoutes(to: api)
    return router
}

/// Closes the pool and the HTTP client when the application shuts down, after the server has stopped.
struct Closer: Service {
    let pool: PostgresPool
    let http: HTTPClient?

    func run() async throws {
        try? await gracefulShutdown()
        await pool.close()
        await http?.shutdown()
    }
}
