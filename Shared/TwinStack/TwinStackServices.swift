import DTPHTTPCore
import DTPServiceRegistration
import Logging
import ServiceLifecycle

/// The services every twin stack runs before its own tick loops.
public enum TwinStackServices {
    /// The publisher, the InfluxDB sink, and the registry registration of `name` as `twinRef` when a
    /// registry is configured. (The generators' HTTP client holds no connections between calls, so it needs
    /// no service of its own to close them.)
    public static func common(
        name: String, twinRef: String, settings: TwinStackSettings, http: any HTTPTransport, publisher: TwinPublisher,
        sink: InfluxSink, logger: Logger
    ) -> [any Service] {
        var services: [any Service] = [publisher, sink]
        if let registry = settings.registryURL {
            services.append(
                RegistryRegistration(
                    registryURL: registry, token: settings.serviceToken,
                    body: .init(name: name, tenant: settings.tenant, publicURL: settings.publicURL, twinRef: twinRef),
                    http: http, logger: logger))
        }
        return services
    }
}
