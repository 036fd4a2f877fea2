import DTPAuth
import DTPServiceKit
import Foundation

/// Everything discovery reads from its environment, read once at start-up.
struct DiscoveryConfig: Sendable {
    /// Name, address, log level.
    var settings: ServiceSettings
    /// `DTP_TWINS_ROOT`: the folders watched for twin files (`:`-separated), as absolute paths.
    var roots: [String]
    /// `DTP_REGISTRY_URL`: the registry's base URL, without a trailing slash.
    var registryURL: String
    /// `DTP_SERVICE_TOKEN_DISCOVERY`: the bearer token discovery presents to the registry.
    var registryToken: Secret
    /// `DTP_SERVICE_TOKENS` and `DTP_SERVICE_TOKEN_<NAME>`: the tokens `POST /scan` accepts.
    var serviceTokens: [String: String]
    /// `DTP_DISCOVERY_RESCAN_SECONDS`: the period of the full rescan that catches whatever the watcher missed.
    var rescanInterval: Duration
    /// `DTP_DISCOVERY_DEBOUNCE_SECONDS`: how long a folder must stay quiet before it is read.
    var debounce: Duration
    /// The longest a burst of changes may postpone reading a folder.
    var maxDebounce: Duration
    /// `DTP_DISCOVERY_RETRY_MAX_SECONDS`: the longest pause between retries while the registry is away.
    var maxRetryDelay: Duration
    /// The first pause after a failed registry call; it doubles up to ``maxRetryDelay``.
    var initialRetryDelay: Duration = .milliseconds(250)

    /// A configuration given directly, as tests build it.
    init(
        settings: ServiceSettings, roots: [String], registryURL: String, registryToken: Secret,
        serviceTokens: [String: String] = [:], rescanInterval: Duration = .seconds(300),
        debounce: Duration = .milliseconds(100), maxDebounce: Duration = .seconds(1),
        maxRetryDelay: Duration = .seconds(30)
    ) {
        self.settings = settings
        self.roots = roots.map(Self.absolute)
        self.registryURL = Self.trimmed(registryURL)
        self.registryToken = registryToken
        self.serviceTokens = serviceTokens
        self.rescanInterval = rescanInterval
        self.debounce = debounce
        self.maxDebounce = maxDebounce
        self.maxRetryDelay = maxRetryDelay
    }

    /// Reads every variable through `reader`, which collects all problems for one report.
    init(reader: inout ConfigReader) {
        settings = ServiceSettings(name: "discovery", defaultPort: 8082, reader: &reader)
        roots = reader.list("DTP_TWINS_ROOT", separator: ":", default: ["./twins"]).map(Self.absolute)
        if roots.isEmpty { reader.report("DTP_TWINS_ROOT", "names no folder") }
        registryURL = Self.trimmed(
            reader.url("DTP_REGISTRY_URL", default: "http://127.0.0.1:8081", schemes: ["http", "https"]).absoluteString)
        registryToken = reader.secret("DTP_SERVICE_TOKEN_DISCOVERY")
        let (tokens, badKeys) = ServiceTokens.parse(environment: reader.environment)
        for key in badKeys { reader.report(key, "must be name:token pairs separated by commas") }
        serviceTokens = tokens
        rescanInterval = reader.seconds("DTP_DISCOVERY_RESCAN_SECONDS", default: .seconds(300))
        debounce = reader.seconds("DTP_DISCOVERY_DEBOUNCE_SECONDS", default: .milliseconds(100))
        maxDebounce = max(debounce, .seconds(1))
        maxRetryDelay = reader.seconds("DTP_DISCOVERY_RETRY_MAX_SECONDS", default: .seconds(30))
    }

    /// `path` made absolute against the working directory, without a trailing slash.
    static func absolute(_ path: String) -> String {
        let base = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        let standard = URL(fileURLWithPath: base).standardizedFileURL.path
        return standard.count > 1 && standard.hasSuffix("/") ? String(standard.dropLast()) : standard
    }

    private static func trimmed(_ url: String) -> String {
        url.hasSuffix("/") ? String(url.dropLast()) : url
    }
}
