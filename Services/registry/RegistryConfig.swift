import DTPAuth
import DTPRegistryClient
import DTPNeo4j
import DTPPostgres
import DTPS3
import DTPServiceKit
import Foundation
import Logging

/// Everything the registry reads from its environment, read once at start-up.
struct RegistryConfig: Sendable {
    /// Name, address, log level.
    var settings: ServiceSettings
    /// How the registry lists itself in its own service registry, so the portal shows its health (through
    /// its HTTP API, like every service, once it serves); nil in tests.
    var selfRegistration: SelfRegistration?
    /// `DTP_PG_URL`, else the libpq `PG*` variables.
    var postgres: PostgresConfiguration
    /// `DTP_REGISTRY_PG_POOL`: connections in the pool.
    var poolSize: Int
    /// `DTP_SERVICE_TOKENS` and `DTP_SERVICE_TOKEN_<NAME>`: tokens of the calling services by name.
    var serviceTokens: [String: String]
    /// `DTP_JWT_SECRET`: the gateway's HS256 key (at least 32 bytes).
    var jwtSecret: Secret
    /// `MINIO_*`: the artifact store; nil leaves artifacts unavailable (503).
    var s3: S3Configuration?
    /// `NEO4J_*`: the graph mirror; nil mirrors nothing.
    var neo4j: Neo4jConfiguration?
    /// `DTP_REGISTRY_HEARTBEAT_SECONDS`: the SSE heartbeat interval.
    var heartbeat: Duration
    /// Largest JSON body (1 MiB), and largest bulk body.
    var maxBodyBytes = 1 << 20
    /// `DTP_REGISTRY_MAX_BULK_BYTES`: the largest bulk-upsert body.
    var maxBulkBytes: Int
    /// `DTP_REGISTRY_MAX_ARTIFACT_BYTES`: the largest artifact.
    var maxArtifactBytes: Int
    /// `DTP_REGISTRY_TWIN_CACHE_MB`: memory for twins kept to answer reads without the database (0: none).
    var twinCacheBytes = 16 << 20
    /// How often the event hub checks that its LISTEN connection still hears notifications (see
    /// ``EventHub``); each probe also wakes one read of the outbox.
    var listenProbeInterval: Duration = .seconds(2)
    /// The Neo4j mirror's first pause after a failure (it doubles up to 30 s).
    var mirrorBackoff: Duration = .milliseconds(250)

    /// A configuration given directly, as tests build it.
    init(
        settings: ServiceSettings, postgres: PostgresConfiguration, poolSize: Int = 8,
        serviceTokens: [String: String], jwtSecret: Secret, s3: S3Configuration? = nil,
        neo4j: Neo4jConfiguration? = nil, heartbeat: Duration = .seconds(15), maxBulkBytes: Int = 16 << 20,
        maxArtifactBytes: Int = 256 << 20
    ) {
        self.settings = settings
        self.postgres = postgres
        self.poolSize = poolSize
        self.serviceTokens = serviceTokens
        self.jwtSecret = jwtSecret
        self.s3 = s3
        self.neo4j = neo4j
        self.heartbeat = heartbeat
        self.maxBulkBytes = maxBulkBytes
        self.maxArtifactBytes = maxArtifactBytes
    }

    /// Reads every variable through `reader`, which collects all problems for one report.
    init(reader: inout ConfigReader) {
        settings = ServiceSettings(name: "registry", defaultPort: 8081, reader: &reader)
        selfRegistration = SelfRegistration(service: "registry", port: settings.port, reader: &reader)
        let environment = reader.environment
        let (postgres, problem) = PostgresConfiguration.forService(environment: environment, applicationName: "dtp-registry")
        if let problem { reader.report(problem.variable, problem.message) }
        self.postgres = postgres
        poolSize = reader.int("DTP_REGISTRY_PG_POOL", default: 16, in: 1...64)
        let (tokens, badKeys) = ServiceTokens.parse(environment: environment)
        for key in badKeys { reader.report(key, "must be name:token pairs separated by commas") }
        serviceTokens = tokens
        jwtSecret = reader.secret("DTP_JWT_SECRET", minimumLength: 32)
        do {
            s3 = try S3Configuration(environment: environment)
        } catch {
            reader.report("MINIO_ENDPOINT", "\(error)")
        }
        do {
            neo4j = try Neo4jConfiguration(environment: environment)
        } catch {
            reader.report("NEO4J_URL", "\(error)")
        }
        heartbeat = reader.seconds("DTP_REGISTRY_HEARTBEAT_SECONDS", default: .seconds(15))
        maxBulkBytes = reader.int("DTP_REGISTRY_MAX_BULK_BYTES", default: 16 << 20, in: 1024...(1 << 30))
        maxArtifactBytes = reader.int("DTP_REGISTRY_MAX_ARTIFACT_BYTES", default: 256 << 20, in: 1...(1 << 34))
        twinCacheBytes = reader.int("DTP_REGISTRY_TWIN_CACHE_MB", default: 16, in: 0...4096) << 20
    }
}
