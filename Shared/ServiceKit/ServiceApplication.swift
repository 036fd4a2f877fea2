import Hummingbird
import Logging
import ServiceLifecycle

/// Builds the HTTP application of a DTP service the same way for every service.
///
/// The router comes back with request IDs, request logging, Prometheus request metrics and
/// `{"detail"}` errors installed, plus `/healthz`, `/readyz` and `/metrics`; the service adds its own
/// routes to it and hands it back to ``application(settings:router:services:logger:)``. The
/// application runs its services (pools, MQTT loops, watchers) in one ServiceGroup that shuts down
/// gracefully on SIGTERM and SIGINT.
public enum ServiceApplication {
    /// A router with the shared middleware and the health and metrics routes.
    public static func router<Context: RequestContext>(
        settings: ServiceSettings, context: Context.Type = BasicRequestContext.self,
        readiness: [ReadinessCheck] = []
    ) -> Router<Context> {
        let router = Router(context: context)
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: LogRequestsMiddleware(.debug))
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: DetailErrorMiddleware())
        HealthController<Context>(
            service: settings.name, checks: readiness,
            registry: ServiceMetrics.registry(service: settings.name)
        ).addRoutes(to: router)
        return router
    }

    /// The application that serves `router` on the configured address and runs `services`.
    public static func application<Context: RequestContext>(
        settings: ServiceSettings, router: Router<Context>, services: [any Service] = [], logger: Logger
    ) -> some ApplicationProtocol where Context.Source == ApplicationRequestContextSource {
        Application(
            router: router,
            configuration: .init(
                address: .hostname(settings.host, port: settings.port), serverName: "dtp-\(settings.name)"),
            services: services,
            onServerRunning: { channel in
                logger.info(
                    "serving",
                    metadata: [
                        "service": "\(settings.name)", "host": "\(settings.host)",
                        "port": "\(channel.localAddress?.port ?? settings.port)",
                    ])
            },
            logger: logger)
    }
}

extension ServiceApplication {
    /// Reads the shared settings, bootstraps logging and metrics, and builds the application with the
    /// routes that `routes` adds: the whole start-up of a service that needs nothing more.
    public static func standard(
        name: String, defaultPort: Int, reader: inout ConfigReader, readiness: [ReadinessCheck] = [],
        services: [any Service] = [], routes: (Router<BasicRequestContext>) -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let settings = ServiceSettings(name: name, defaultPort: defaultPort, reader: &reader)
        let logger = ServiceLogging.bootstrap(service: settings.name, level: settings.logLevel)
        let router = router(settings: settings, readiness: readiness)
        routes(router)
        return application(settings: settings, router: router, services: services, logger: logger)
    }
}
