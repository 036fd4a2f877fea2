import DTPAuth
import DTPPostgres
import DTPServiceKit
import Foundation
import Logging

/// Everything the gateway reads from its environment, read once at start-up.
struct GatewayConfig: Sendable {
    /// Who may see a twin card that the registry stream just created.
    enum DefaultGrant: String, Sendable, CaseIterable {
        /// Every user (the earlier demo's behaviour).
        case all
        /// Staff users only.
        case staff
        /// Nobody until an admin grants it.
        case none
    }

    /// A user created at start-up when absent.
    struct BootstrapUser: Sendable {
        var username: String
        var password: Secret
        var isStaff: Bool
    }

    static let defaultJWTSecret = "dtp-local-development-jwt-secret-change-me-0000"
    static let defaultAdminPassword = "admin12345"
    static let defaultDemoPassword = "demo12345"

    /// Name, address, log level, deployment.
    var settings: ServiceSettings
    /// `DTP_PG_URL`, else the libpq `PG*` variables.
    var postgres: PostgresConfiguration
    /// `DTP_GATEWAY_PG_POOL`: connections in the pool.
    var poolSize = 8
    /// `DTP_JWT_SECRET`: the HS256 key the registry verifies too (at least 32 bytes).
    var jwtSecret: Secret
    /// `DTP_ACCESS_TOKEN_SECONDS`: access-token lifetime (5 minutes).
    var accessLifetime: Duration = .seconds(300)
    /// `DTP_REFRESH_TOKEN_SECONDS`: refresh-token lifetime (1 day).
    var refreshLifetime: Duration = .seconds(86_400)
    /// `DTP_BCRYPT_COST`: the cost of new password hashes (10 or more).
    var bcryptCost = 10
    /// `DTP_ADMIN_USERNAME`/`DTP_ADMIN_PASSWORD` and `DTP_DEMO_USERNAME`/`DTP_DEMO_PASSWORD`.
    var bootstrapUsers: [BootstrapUser] = []
    /// `DTP_REGISTRY_URL`: the registry's base URL.
    var registryURL = "http://127.0.0.1:8081"
    /// `DTP_SERVICE_TOKEN_GATEWAY`: the token the gateway presents to the registry, discovery and ingestor.
    var serviceToken: Secret
    /// `DTP_DISCOVERY_URL`: discovery's base URL, for `/api/admin/scan`.
    var discoveryURL = "http://127.0.0.1:8082"
    /// `DTP_INGESTOR_URL`: the ingestor's base URL, for last-data.
    var ingestorURL = "http://127.0.0.1:8084"
    /// `DTP_GATEWAY_URL`: the gateway's own address, registered in the service registry at start-up (as
    /// the suite's services register themselves) so that its health shows among the badges; nil skips it.
    var publicURL: String?
    /// `INFLUX_URL` is set (reported by `/api/healthz`).
    var influxConfigured = false
    /// `DTP_DEFAULT_GRANT`: grants given for a new card.
    var defaultGrant: DefaultGrant = .all
    /// `DTP_HEALTH_INTERVAL_SECONDS`: how often registered services' health URLs are checked.
    var healthInterval: Duration = .seconds(15)
    /// `DTP_PORTAL_HEARTBEAT_SECONDS`: the portal stream's heartbeat interval.
    var heartbeat: Duration = .seconds(15)
    /// `DTP_PORTAL_CLIENT_BUFFER`: events a portal stream may fall behind before it is dropped.
    var clientBuffer = 256
    /// `DTP_PORTAL_REPLAY_EVENTS`: recent events kept for `Last-Event-ID` resumption.
    var replayEvents = 4096
    /// `DTP_LAST_DATA_TTL_SECONDS`: how long an ingestor answer is cached.
    var lastDataTTL: Duration = .seconds(10)
    /// `DTP_PORTAL_DIR`: the portal's static files; nil serves none.
    var portalDirectory: String?
    /// `DTP_CORS_ORIGINS`: origins allowed cross-origin calls; empty turns CORS off.
    var corsOrigins: [String] = []
    /// `DTP_LOGIN_MAX_FAILURES_USER` / `_ADDRESS` within `DTP_LOGIN_WINDOW_SECONDS`.
    var loginFailuresPerUser = 5
    var loginFailuresPerAddress = 20
    var loginWindow: Duration = .seconds(300)
    /// `DTP_SECURE_COOKIES`: mark the session cookie `Secure` (on by default in production).
    var secureCookies = false
    /// Largest JSON body the gateway reads.
    var maxBodyBytes = 1 << 20
    /// `DTP_GATEWAY_MAX_ARTIFACT_BYTES`: largest artifact upload forwarded.
    var maxArtifactBytes = 256 << 20

    /// A configuration given directly, as tests build it.
    init(settings: ServiceSettings, postgres: PostgresConfiguration, jwtSecret: Secret, serviceToken: Secret) {
        self.settings = settings
        self.postgres = postgres
        self.jwtSecret = jwtSecret
        self.serviceToken = serviceToken
    }

    /// Reads every variable through `reader`, which collects all problems for one report.
    init(reader: inout ConfigReader) {
        settings = ServiceSettings(name: "gateway", defaultPort: 8083, reader: &reader)
        let environment = reader.environment
        let (postgres, problem) = PostgresConfiguration.forService(environment: environment, applicationName: "dtp-gateway")
        if let problem { reader.report(problem.variable, problem.message) }
        self.postgres = postgres
        poolSize = reader.int("DTP_GATEWAY_PG_POOL", default: 8, in: 1...64)
        jwtSecret = reader.secret("DTP_JWT_SECRET", minimumLength: 32, default: Self.defaultJWTSecret)
        accessLifetime = reader.seconds("DTP_ACCESS_TOKEN_SECONDS", default: .seconds(300))
        refreshLifetime = reader.seconds("DTP_REFRESH_TOKEN_SECONDS", default: .seconds(86_400))
        bcryptCost = reader.int("DTP_BCRYPT_COST", default: 10, in: 10...16)
        let admin = BootstrapUser(
            username: reader.string("DTP_ADMIN_USERNAME", default: "admin@example.com"),
            password: reader.secret("DTP_ADMIN_PASSWORD", minimumLength: 8, default: Self.defaultAdminPassword),
            isStaff: true)
        let demoName = reader.string("DTP_DEMO_USERNAME", default: "demo@example.com")
        let demo = BootstrapUser(
            username: demoName,
            password: reader.secret("DTP_DEMO_PASSWORD", minimumLength: 8, default: Self.defaultDemoPassword),
            isStaff: false)
        let bootstrapDemo = reader.bool("DTP_BOOTSTRAP_DEMO", default: true)
        bootstrapUsers = [admin] + (bootstrapDemo ? [demo] : [])
        registryURL = Self.trimmed(reader.string("DTP_REGISTRY_URL", default: "http://127.0.0.1:8081"))
        discoveryURL = Self.trimmed(reader.string("DTP_DISCOVERY_URL", default: "http://127.0.0.1:8082"))
        ingestorURL = Self.trimmed(reader.string("DTP_INGESTOR_URL", default: "http://127.0.0.1:8084"))
        serviceToken = reader.secret("DTP_SERVICE_TOKEN_GATEWAY", default: "")
        influxConfigured = reader.optionalString("INFLUX_URL") != nil
        publicURL = reader.optionalString("DTP_GATEWAY_URL").map(Self.trimmed)
        defaultGrant = reader.choice("DTP_DEFAULT_GRANT", as: DefaultGrant.self, default: .all)
        healthInterval = reader.seconds("DTP_HEALTH_INTERVAL_SECONDS", default: .seconds(15))
        heartbeat = reader.seconds("DTP_PORTAL_HEARTBEAT_SECONDS", default: .seconds(15))
        clientBuffer = reader.int("DTP_PORTAL_CLIENT_BUFFER", default: 256, in: 8...65_536)
        replayEvents = reader.int("DTP_PORTAL_REPLAY_EVENTS", default: 4096, in: 0...1_000_000)
        lastDataTTL = reader.seconds("DTP_LAST_DATA_TTL_SECONDS", default: .seconds(10))
        if let directory = reader.optionalString("DTP_PORTAL_DIR") {
            portalDirectory = directory
        } else {
            let local = FileManager.default.currentDirectoryPath + "/Services/portal-gateway/Public"
            portalDirectory = FileManager.default.fileExists(atPath: local) ? local : nil
        }
        corsOrigins = reader.list("DTP_CORS_ORIGINS", default: [])
        loginFailuresPerUser = reader.int("DTP_LOGIN_MAX_FAILURES_USER", default: 5, in: 1...10_000)
        loginFailuresPerAddress = reader.int("DTP_LOGIN_MAX_FAILURES_ADDRESS", default: 20, in: 1...100_000)
        loginWindow = reader.seconds("DTP_LOGIN_WINDOW_SECONDS", default: .seconds(300))
        secureCookies = reader.bool("DTP_SECURE_COOKIES", default: settings.deployment == .production)
        maxArtifactBytes = reader.int("DTP_GATEWAY_MAX_ARTIFACT_BYTES", default: 256 << 20, in: 1...(1 << 34))
        if settings.deployment == .production {
            if jwtSecret.isDefault { reader.report("DTP_JWT_SECRET", "must be set in production (no default)") }
            for (key, user) in [("DTP_ADMIN_PASSWORD", admin), ("DTP_DEMO_PASSWORD", demo)]
            where user.password.isDefault && (user.isStaff || bootstrapDemo) {
                reader.report(key, "must be set in production (the demo default is refused)")
            }
        }
    }

    private static func trimmed(_ url: String) -> String {
        url.hasSuffix("/") ? String(url.dropLast()) : url
    }
}
