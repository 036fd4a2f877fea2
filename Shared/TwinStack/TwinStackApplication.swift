import DTPMQTT
import DTPServiceKit
import Hummingbird
import Logging
import ServiceLifecycle

/// The HTTP application of a twin stack: the shared router with an MQTT readiness check, the stack's own
/// routes, and the stack's services.
public enum TwinStackApplication {
    /// Builds it; `routes` adds the stack's UI and JSON API.
    public static func make(
        settings: ServiceSettings, publisher: TwinPublisher, services: [any Service], logger: Logger,
        routes: (Router<BasicRequestContext>) -> Void
    ) -> some ApplicationProtocol {
        let readiness = [
            ReadinessCheck("mqtt") {
                guard publisher.client.isConnected else { throw NotConnected() }
            }
        ]
        let router = ServiceApplication.router(settings: settings, readiness: readiness)
        routes(router)
        return ServiceApplication.application(settings: settings, router: router, services: services, logger: logger)
    }

    /// `/readyz`'s answer while the broker is away.
    struct NotConnected: Error, CustomStringConvertible {
        var description: String { "not connected to the MQTT broker" }
    }
}
