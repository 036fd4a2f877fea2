import DTPEssentials

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Where InfluxDB is, how to authenticate, and how the client writes.
///
/// Built from the environment with ``init(environment:)`` or in code. Its description never shows the
/// token or password.
public struct InfluxDBConfiguration: Sendable, CustomStringConvertible {
    /// Which write API the client speaks.
    public enum API: String, Sendable {
        /// InfluxDB 1.x: `POST /write?db=`, optional user and password.
        case v1
        /// InfluxDB 2.x: `POST /api/v2/write?org=&bucket=` with `Authorization: Token`.
        case v2
    }

    /// The server's base URL, e.g. `http://127.0.0.1:8086`.
    public var url: String
    /// The write API.
    public var api: API
    /// The 2.x organisation.
    public var org: String?
    /// The 2.x bucket.
    public var bucket: String?
    /// The 2.x API token (also sent to `/query`, which 2.x serves through its v1 compatibility API).
    public var token: String?
    /// The 1.x database, which queries also name.
    public var database: String
    /// The 1.x user, if authentication is on.
    public var username: String?
    /// The 1.x password, if authentication is on.
    public var password: String?
    /// The unit in which timestamps are written.
    public var precision: InfluxPrecision
    /// Whether write bodies are gzip-compressed (`Content-Encoding: gzip`).
    public var gzip: Bool
    /// How many attempts a request gets in all when the server answers 429 or 503.
    public var maxAttempts: Int
    /// The first backoff delay; it doubles with each attempt, up to ``maxRetryDelay``.
    public var retryBaseDelay: Duration
    /// The longest wait between attempts, also the cap on a server's `Retry-After`.
    public var maxRetryDelay: Duration
    /// How long one request may take.
    public var requestTimeout: Duration

    /// A configuration; `database` defaults to `bucket`, and `api` to v2 when a token is given, else v1.
    public init(
        url: String, api: API? = nil, org: String? = nil, bucket: String? = nil, token: String? = nil,
        database: String? = nil, username: String? = nil, password: String? = nil,
        precision: InfluxPrecision = .nanoseconds, gzip: Bool = true, maxAttempts: Int = 5,
        retryBaseDelay: Duration = .milliseconds(200), maxRetryDelay: Duration = .seconds(30),
        requestTimeout: Duration = .seconds(30)
    ) {
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.api = api ?? (token?.isEmpty == false ? .v2 : .v1)
        self.org = org
        self.bucket = bucket
        self.token = token
        self.database = database ?? bucket ?? ""
        self.username = username
        self.password = password
        self.precision = precision
        self.gzip = gzip
        self.maxAttempts = max(1, maxAttempts)
        self.retryBaseDelay = retryBaseDelay
        self.maxRetryDelay = maxRetryDelay
        self.requestTimeout = requestTimeout
    }

    /// Reads `INFLUX_URL`, `INFLUX_ORG`, `INFLUX_BUCKET`, `INFLUX_TOKEN`, `INFLUX_DB` (default: the
    /// bucket), `INFLUX_USER`, `INFLUX_PASSWORD`, `INFLUX_API` (`v1` or `v2`; default v2 when a token is
    /// set, else v1) and `INFLUX_PRECISION` (`ns`, `us`, `ms`, `s`; default `ns`).
    ///
    /// Throws ``InfluxDBError/configuration`` naming every missing or malformed variable at once; returns
    /// nil when `INFLUX_URL` is not set at all, so callers can tell "not configured" from "misconfigured".
    public init?(environment: [String: String] = ProcessInfo.processInfo.environment) throws(InfluxDBError) {
        func value(_ key: String) -> String? {
            guard let text = environment[key]?.trimmingWhitespace(), !text.isEmpty else { return nil }
            return text
        }
        guard let url = value("INFLUX_URL") else { return nil }
        var problems: [String] = []
        if URL(string: url)?.scheme.map({ ["http", "https"].contains($0.lowercased()) }) != true {
            problems.append("INFLUX_URL must be an http(s) URL")
        }
        var api: API?
        if let text = value("INFLUX_API") {
            api = API(rawValue: text.lowercased())
            if api == nil { problems.append("INFLUX_API must be v1 or v2") }
        }
        var precision = InfluxPrecision.nanoseconds
        if let text = value("INFLUX_PRECISION") {
            if let parsed = InfluxPrecision(rawValue: text) { precision = parsed } else {
                problems.append("INFLUX_PRECISION must be ns, us, ms or s")
            }
        }
        let token = value("INFLUX_TOKEN")
        let chosen = api ?? (token == nil ? .v1 : .v2)
        if chosen == .v2 {
            if token == nil { problems.append("INFLUX_TOKEN is required for the v2 API") }
            if value("INFLUX_ORG") == nil { problems.append("INFLUX_ORG is required for the v2 API") }
            if value("INFLUX_BUCKET") == nil { problems.append("INFLUX_BUCKET is required for the v2 API") }
        } else if value("INFLUX_DB") == nil && value("INFLUX_BUCKET") == nil {
            problems.append("INFLUX_DB (or INFLUX_BUCKET) is required for the v1 API")
        }
        guard problems.isEmpty else {
            throw InfluxDBError.configuration.with(message: problems.joined(separator: "; "))
        }
        self.init(
            url: url, api: chosen, org: value("INFLUX_ORG"), bucket: value("INFLUX_BUCKET"), token: token,
            database: value("INFLUX_DB") ?? value("INFLUX_BUCKET"), username: value("INFLUX_USER"),
            password: value("INFLUX_PASSWORD"), precision: precision)
    }

    /// The settings, with the token and password shown only as set or not.
    public var description: String {
        var parts = ["url: \(url)", "api: \(api.rawValue)", "database: \(database)"]
        if let org { parts.append("org: \(org)") }
        if let bucket { parts.append("bucket: \(bucket)") }
        if let username { parts.append("user: \(username)") }
        parts.append("token: \(token == nil ? "none" : "<redacted>")")
        parts.append("password: \(password == nil ? "none" : "<redacted>")")
        parts.append("precision: \(precision.rawValue)")
        parts.append("gzip: \(gzip)")
        return "InfluxDBConfiguration(\(parts.joined(separator: ", ")))"
    }
}
