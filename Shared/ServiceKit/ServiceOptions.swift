import ArgumentParser

/// Command-line options every service executable accepts; they override the environment.
public struct ServiceOptions: ParsableArguments, Sendable {
    /// Overrides `DTP_HTTP_HOST`.
    @Option(name: .long, help: "Address to bind (overrides DTP_HTTP_HOST).")
    public var host: String?

    /// Overrides `DTP_HTTP_PORT`.
    @Option(name: .long, help: "Port to bind (overrides DTP_HTTP_PORT).")
    public var port: Int?

    /// Overrides `LOG_LEVEL`.
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical (overrides LOG_LEVEL).")
    public var logLevel: String?

    /// Options as parsed by ArgumentParser.
    public init() {}

    /// The environment with these options applied on top, so that one reader validates both.
    public func applied(to environment: [String: String]) -> [String: String] {
        var environment = environment
        if let host { environment["DTP_HTTP_HOST"] = host }
        if let port { environment["DTP_HTTP_PORT"] = String(port) }
        if let logLevel { environment["LOG_LEVEL"] = logLevel }
        return environment
    }
}
