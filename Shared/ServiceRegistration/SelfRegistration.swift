import DTPHTTPCore
import DTPServiceKit
import Logging

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Where one of the suite's own services (registry, discovery, gateway, ingestor) registers itself, so that
/// the gateway checks its health and the portal shows its badge like any twin stack's.
///
/// Read from the environment: the registry (`DTP_REGISTRY_URL`; no registration without it), the
/// service's token (`DTP_SERVICE_TOKEN_<SERVICE>`), the URL it is reached at (`DTP_<SERVICE>_URL`, by
/// default `http://localhost:<port>`) and the tenant it is listed under (`DTP_PLATFORM_TENANT`, default
/// `platform`).
public struct SelfRegistration: Sendable {
    /// The registry's base URL, when one is configured.
    public var registryURL: String?
    /// The bearer token for the registry.
    public var token: Secret?
    /// The service's own base URL, as others reach it.
    public var publicURL: String
    /// The tenant the service is listed under.
    public var tenant: String
    /// The service's short name (`discovery`).
    public var service: String

    /// Reads the settings of `service` listening on `port`.
    public init(service: String, port: Int, reader: inout ConfigReader) {
        let upper = service.uppercased()
        self.service = service
        if reader.raw(["DTP_REGISTRY_URL"]) != nil {
            registryURL = reader.url("DTP_REGISTRY_URL", schemes: ["http", "https"]).absoluteString
            token = reader.secret("DTP_SERVICE_TOKEN_\(upper)")
        }
        var url = reader.url(
            "DTP_\(upper)_URL", default: "http://localhost:\(port)", schemes: ["http", "https"]
        ).absoluteString
        while url.hasSuffix("/") { url.removeLast() }
        publicURL = url
        tenant = reader.string("DTP_PLATFORM_TENANT", default: "platform")
    }

    /// The background registration as `dtp-<service>` in `category`, or nil without a registry.
    public func registration(category: String, http: any HTTPTransport, logger: Logger) -> RegistryRegistration? {
        guard let registryURL else { return nil }
        return RegistryRegistration(
            registryURL: registryURL, token: token,
            body: .init(name: "dtp-\(service)", tenant: tenant, publicURL: publicURL, category: category),
            http: http, logger: logger)
    }
}
