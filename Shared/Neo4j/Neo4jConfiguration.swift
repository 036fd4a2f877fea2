import Foundation

/// Where Neo4j's HTTP API is and how to log in. Its description never shows the password.
public struct Neo4jConfiguration: Sendable, CustomStringConvertible {
    /// The HTTP API's base URL, e.g. `http://127.0.0.1:7474`.
    public var url: String
    /// The user, `neo4j` by default.
    public var username: String
    /// The password; nil sends no credentials (auth disabled).
    public var password: String?
    /// The database, `neo4j` by default.
    public var database: String
    /// How long one request may take.
    public var requestTimeout: Duration

    /// A configuration for the server at `url`.
    public init(
        url: String, username: String = "neo4j", password: String? = nil, database: String = "neo4j",
        requestTimeout: Duration = .seconds(30)
    ) {
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.username = username
        self.password = password
        self.database = database
        self.requestTimeout = requestTimeout
    }

    /// Reads `NEO4J_URL` (the HTTP API, `http(s)://host:7474`), `NEO4J_USER` (default `neo4j`),
    /// `NEO4J_PASSWORD` and `NEO4J_DATABASE` (default `neo4j`).
    ///
    /// Returns nil when `NEO4J_URL` is not set, so callers can skip Neo4j; throws
    /// ``Neo4jError/configuration`` naming the variable when it is not an HTTP URL (a `bolt://` URL
    /// is refused: this client speaks the HTTP API).
    public init?(environment: [String: String] = ProcessInfo.processInfo.environment) throws(Neo4jError) {
        func value(_ key: String) -> String? {
            guard let text = environment[key]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
            return text
        }
        guard let url = value("NEO4J_URL") else { return nil }
        let scheme = URL(string: url)?.scheme?.lowercased()
        guard scheme == "http" || scheme == "https" else {
            throw Neo4jError.configuration.with(
                message: "NEO4J_URL must be the HTTP API's http(s) URL (port 7474), not \(scheme ?? "a bare host")")
        }
        self.init(
            url: url, username: value("NEO4J_USER") ?? "neo4j", password: value("NEO4J_PASSWORD"),
            database: value("NEO4J_DATABASE") ?? "neo4j")
    }

    /// The settings with the password redacted.
    public var description: String {
        "Neo4jConfiguration(url: \(url), database: \(database), user: \(username), "
            + "password: \(password == nil ? "none" : "<redacted>"))"
    }
}
