import DTPAuth
import DTPHTTP
import DTPRegistryClient
import DTPInfluxDB
import DTPMQTT
import DTPPostgres
import DTPServiceKit
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// Builds the ingestor: migrates the schema, opens the spool, and wires the registry watcher, the MQTT
/// intake, the batch writer and the HTTP routes. Tests build the very same application.
func buildApplication(_ config: IngestorConfig) async throws -> some ApplicationProtocol {
    let logger = ServiceLogging.bootstrap(service: config.settings.name, level: config.settings.logLevel)
    // The metrics backend first: metrics made before it is bootstrapped would go nowhere.
    _ = ServiceMetrics.registry(service: config.settings.name)
    let metrics = IngestorMetrics()
    let pool = PostgresPool(configuration: config.postgres, size: config.poolSize, logger: logger)
    // The schema must exist before the first batch; a database that is down at start-up is waited for.
    var delay = Duration.milliseconds(250)
    while true {
        do {
            try await Migrations.migrate(
                pool, compressAfter: config.timescaleCompressAfter, retention: config.timescaleRetention,
                logger: logger)
            break
        } catch {
            logger.warning("cannot migrate the telemetry schema; retrying", metadata: ["error": "\(error)"])
            try await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(5))
        }
    }
    let journal: Journal
    let http: HTTPClient
    let client: any IntakeConnection
    do {
        journal = try Journal(
            directory: config.clientSpoolDirectory, maxBytes: config.spoolMaxBytes,
            segmentBytes: config.spoolSegmentBytes, logger: logger)
        http = try HTTPClient(configuration: HTTPClient.Configuration(logger: logger))
        client = try MQTTIntake.makeClient(
            configuration: config.mqtt, alwaysLibmosquitto: config.alwaysLibmosquitto, journal: journal,
            metrics: metrics, logger: logger)
    } catch {
        await pool.close()
        throw error
    }
    let catalog = CatalogStore(staticFilters: config.staticTopics, loaded: config.registryURL == nil)
    let influx = config.influx.map {
        InfluxSink(client: InfluxDBClient(configuration: $0, httpClient: http, logger: logger), logger: logger)
    }
    let mapper = MessageMapper(
        maxFutureMicros: Int64(config.maxFuture / .microseconds(1)), rejectKeepBytes: config.rejectKeepBytes)
    let writer = BatchWriter(
        journal: journal, catalog: catalog, mapper: mapper, postgres: PostgresSink(pool: pool, logger: logger),
        influx: influx, metrics: metrics, batchMessages: config.batchMessages, batchInterval: config.batchInterval,
        retryMaxDelay: config.retryMaxDelay, drainTimeout: config.drainTimeout, syncInterval: config.spoolSyncInterval,
        postgresWriters: config.postgresWriters, logger: logger)
    let intake = MQTTIntake(
        client: client, journal: journal, catalog: catalog, group: config.shared ? config.group : nil, metrics: metrics,
        logger: logger)
    // ServiceGroup stops services in reverse order, each after the one behind it finished: the closer
    // last, the writer (draining the spool) after the intake has stopped taking messages.
    var services: [any Service] = [Closer(pool: pool, http: http), writer]
    if let url = config.registryURL, let token = config.registryToken {
        services.append(RegistryWatcher(http: http, baseURL: url, token: token, catalog: catalog, logger: logger))
    }
    if let registration = config.selfRegistration?.registration(category: "DC", http: http, logger: logger) {
        services.append(registration)
    }
    services.append(intake)
    let router = try buildRouter(config, pool: pool, client: client, catalog: catalog)
    return ServiceApplication.application(settings: config.settings, router: router, services: services, logger: logger)
}

/// The router: health, readiness (Postgres answers, the broker is connected, the registry's twins are
/// known) and `/api/last-data` behind bearer auth.
func buildRouter(
    _ config: IngestorConfig, pool: PostgresPool, client: any IntakeConnection, catalog: CatalogStore
) throws -> Router<BasicRequestContext> {
    let readiness = [
        ReadinessCheck("postgres") { _ = try await pool.query("SELECT 1") },
        ReadinessCheck("mqtt") { guard client.isConnected else { throw NotReady("the broker is not connected") } },
        ReadinessCheck("registry") {
            guard catalog.isLoaded else { throw NotReady("the registry's twins are not loaded") }
        },
    ]
    let router = ServiceApplication.router(settings: config.settings, readiness: readiness)
    let signer = try config.jwtSecret.map { try HS256Signer(secret: $0.value) }
    let api = router.group("api")
        .add(middleware: BearerAuthMiddleware(serviceTokens: ServiceTokens(config.serviceTokens), signer: signer))
    LastDataController(pool: pool).addRoutes(to: api)
    return router
}

/// A readiness check that failed.
struct NotReady: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Closes the pool and the HTTP client when the application shuts down, after everything else stopped.
struct Closer: Service {
    let pool: PostgresPool
    let http: HTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        await pool.close()
        await http.shutdown()
    }
}
