import DTPHTTPCore
import DTPServiceKit
import Logging
import ServiceLifecycle

/// Registers a service (a twin stack, or one of the suite's own services) in the service registry, in the
/// background, until the registry accepts it; the gateway's health badges follow what is registered.
///
/// Start-up never waits for the registry: it may start later than the generator, or be down. Attempts
/// back off from ``initialDelay`` to ``maxDelay``; the first failure of a streak is logged at info (never
/// the token), later ones at debug.
public struct RegistryRegistration: Service {
    /// The body of `POST /api/registry/services`.
    public struct Body: Encodable, Sendable, Equatable {
        /// Where the service answers.
        public struct Interfaces: Encodable, Sendable, Equatable {
            /// The service's base URL (its UI and JSON API).
            public var api: String
            /// Its liveness URL.
            public var health: String
            /// Visible to every user of the portal.
            public var `public`: Bool
        }

        /// How the registry may check on the service.
        public struct Health: Encodable, Sendable, Equatable {
            /// The liveness URL.
            public var url: String
            /// The readiness URL.
            public var ready: String
            /// Seconds between checks that the service suggests.
            public var interval_sec: Int
        }

        /// The service's name, such as `dtp-lift`.
        public var name: String
        /// The tenant.
        public var tenant: String
        /// The earlier registry's category; generators are `UI`.
        public var category: String
        /// Where it answers.
        public var interfaces: Interfaces
        /// How to check it.
        public var health: Health
        /// The twin it serves, such as `dt:Lift_001`; nil for the platform's own services.
        public var twin_ref: String?

        /// The registration of the service `name` at `publicURL`.
        public init(
            name: String, tenant: String, publicURL: String, twinRef: String? = nil, category: String = "UI"
        ) {
            self.name = name
            self.tenant = tenant
            self.category = category
            self.interfaces = Interfaces(api: publicURL, health: publicURL + "/healthz", public: true)
            self.health = Health(url: publicURL + "/healthz", ready: publicURL + "/readyz", interval_sec: 30)
            self.twin_ref = twinRef
        }
    }

    /// The registry's base URL.
    public let registryURL: String
    /// The bearer token.
    public let token: Secret?
    /// What is registered.
    public let body: Body
    /// The first wait after a failure.
    public let initialDelay: Duration
    /// The longest wait between attempts.
    public let maxDelay: Duration
    let http: any HTTPTransport
    let logger: Logger

    /// A registration of `body` with the registry at `registryURL`.
    public init(
        registryURL: String, token: Secret?, body: Body, http: any HTTPTransport, logger: Logger,
        initialDelay: Duration = .seconds(1), maxDelay: Duration = .seconds(60)
    ) {
        self.registryURL = registryURL.hasSuffix("/") ? String(registryURL.dropLast()) : registryURL
        self.token = token
        self.body = body
        self.http = http
        self.logger = logger
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
    }

    /// Tries until the registry answers 2xx, then idles until shutdown.
    public func run() async throws {
        _ = try? await cancelWhenGracefulShutdown { try await registerUntilAccepted() }
        try? await gracefulShutdown()
    }

    /// Tries until the registry answers 2xx (or the task is cancelled); returns the number of attempts.
    @discardableResult
    public func registerUntilAccepted() async throws -> Int {
        var delay = initialDelay
        var attempts = 0
        while true {
            attempts += 1
            do {
                try await registerOnce()
                logger.info("registered in the service registry", metadata: ["attempts": "\(attempts)"])
                return attempts
            } catch {
                if attempts == 1 {
                    logger.info(
                        "service registration failed; retrying in the background",
                        metadata: ["registry": "\(registryURL)", "error": "\(Self.describe(error))"])
                } else {
                    logger.debug("service registration failed", metadata: ["attempt": "\(attempts)"])
                }
            }
            try await Task.sleep(for: delay)
            delay = min(delay * 2, maxDelay)
        }
    }

    /// One attempt: `POST /api/registry/services`; throws unless the answer is 2xx.
    public func registerOnce() async throws {
        var headers: HTTPHeaders = [:]
        if let token, !token.value.isEmpty { headers.add(name: "Authorization", value: "Bearer " + token.value) }
        try await http.json(.post, url: registryURL + "/api/registry/services", body: body, headers: headers)
    }

    /// An error's text without anything that could carry the token (statuses and transport errors only).
    static func describe(_ error: any Error) -> String {
        if let status = error as? HTTPStatusError { return "HTTP \(status.status)" }
        return "\(error)"
    }
}
