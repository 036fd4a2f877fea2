import DTPHTTP
import DTPRegistryClient
import Logging
import ServiceLifecycle

/// The services every twin stack runs before its own tick loops.
public enum TwinStackServices {
    /// The HTTP client (first, so it is stopped last), the publisher, the InfluxDB sink, and the registry
    /// registration of `name` as `twinRef` when a registry is configured.
    public static func common(
        name: String, twinRef: String, settings: TwinStackSettings, http: HTTPClient, publisher: TwinPublisher,
        sink: InfluxSink, logger: Logger
    ) -> [any Service] {
        var services: [any Service] = [HTTPClientService(client: http), publisher, sink]
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
