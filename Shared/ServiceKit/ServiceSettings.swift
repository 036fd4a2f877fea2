#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Logging

/// The settings every DTP service shares: its name, where it listens, and how it logs.
public struct ServiceSettings: Sendable {
    /// The service's short name (`registry`, `gateway`…), used in logs and metric names.
    public var name: String
    /// The address to bind (`DTP_HTTP_HOST`): loopback by default, `0.0.0.0` in containers.
    public var host: String
    /// The port to bind (`DTP_HTTP_PORT`), the service's own default otherwise.
    public var port: Int
    /// The log level (`LOG_LEVEL`).
    public var logLevel: Logger.Level
    /// `DTP_ENV`: `production` turns on the checks that refuse local defaults.
    public var deployment: Deployment

    /// Where a service runs; production refuses the defaults that only suit a laptop.
    public enum Deployment: String, Sendable, CaseIterable {
        /// A developer's machine or a test run.
        case local
        /// A real deployment.
        case production
    }

    /// Settings given directly, as tests do.
    public init(
        name: String, host: String = "127.0.0.1", port: Int, logLevel: Logger.Level = .info,
        deployment: Deployment = .local
    ) {
        self.name = name
        self.host = host
        self.port = port
        self.logLevel = logLevel
        self.deployment = deployment
    }

    /// Reads the shared settings through `reader`, which collects any problems for one report.
    public init(name: String, defaultPort: Int, reader: inout ConfigReader) {
        self.init(
            name: name,
            host: reader.string("DTP_HTTP_HOST", default: "127.0.0.1"),
            port: reader.int("DTP_HTTP_PORT", default: defaultPort, in: 1...65535),
            logLevel: reader.logLevel(),
            deployment: reader.choice("DTP_ENV", as: Deployment.self, default: .local))
    }
}
