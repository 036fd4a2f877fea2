import Foundation

/// Where and how to connect: the settings libpq needs, read from a `postgresql://` URL or from the
/// standard libpq environment variables.
///
/// The description never shows the password, so a configuration can be logged safely.
public struct PostgresConfiguration: Sendable, CustomStringConvertible {
    /// The server's host name or address.
    public var host: String
    /// The server's TCP port.
    public var port: Int
    /// The role to connect as.
    public var user: String
    /// The role's password, if the server asks for one.
    public var password: String?
    /// The database to connect to.
    public var database: String
    /// Shown in `pg_stat_activity.application_name`, so operators can tell services apart.
    public var applicationName: String?
    /// How long to wait for a connection to be made before giving up; libpq counts whole seconds.
    public var connectTimeout: Duration
    /// Further libpq connection parameters (`sslmode`, `target_session_attrs`, ...), passed as given.
    public var parameters: [String: String]

    /// A configuration from its parts.
    public init(
        host: String = "127.0.0.1", port: Int = 5432, user: String, password: String? = nil,
        database: String, applicationName: String? = nil, connectTimeout: Duration = .seconds(10),
        parameters: [String: String] = [:]
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.applicationName = applicationName
        self.connectTimeout = connectTimeout
        self.parameters = parameters
    }

    /// Parses `postgresql://user:password@host:port/database?application_name=...&connect_timeout=5`.
    ///
    /// User and password may be percent-encoded. Query items other than `application_name` and
    /// `connect_timeout` become libpq ``parameters``.
    public init(url: String) throws(PostgresError) {
        guard let components = URLComponents(string: url),
            let scheme = components.scheme, scheme == "postgresql" || scheme == "postgres"
        else {
            throw .connection("not a postgresql:// URL")
        }
        guard let user = components.user, !user.isEmpty else {
            throw .connection("the PostgreSQL URL names no user")
        }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        self.init(
            host: components.host.flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1",
            port: components.port ?? 5432,
            user: user,
            password: components.password,
            database: path.isEmpty ? user : (path.removingPercentEncoding ?? path))
        for item in components.queryItems ?? [] {
            guard let value = item.value else { continue }
            switch item.name {
            case "application_name":
                applicationName = value
            case "connect_timeout":
                guard let seconds = Int(value), seconds >= 0 else {
                    throw .connection("connect_timeout in the PostgreSQL URL is not a whole number of seconds")
                }
                connectTimeout = .seconds(seconds)
            default:
                parameters[item.name] = value
            }
        }
    }

    /// Reads the libpq variables `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, and
    /// `PGAPPNAME` and `PGCONNECT_TIMEOUT` when set. `PGUSER` is required; the rest have libpq's defaults.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) throws(PostgresError) {
        guard let user = environment["PGUSER"], !user.isEmpty else {
            throw .connection("PGUSER is not set")
        }
        var port = 5432
        if let text = environment["PGPORT"] {
            guard let value = Int(text), (1...65535).contains(value) else {
                throw .connection("PGPORT is not a port number")
            }
            port = value
        }
        self.init(
            host: environment["PGHOST"].flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1",
            port: port,
            user: user,
            password: environment["PGPASSWORD"],
            database: environment["PGDATABASE"].flatMap { $0.isEmpty ? nil : $0 } ?? user,
            applicationName: environment["PGAPPNAME"])
        if let text = environment["PGCONNECT_TIMEOUT"] {
            guard let seconds = Int(text), seconds >= 0 else {
                throw .connection("PGCONNECT_TIMEOUT is not a whole number of seconds")
            }
            connectTimeout = .seconds(seconds)
        }
    }

    /// The settings without the password, as `postgresql://user@host:port/database`.
    public var description: String {
        var text = "postgresql://\(user)\(password == nil ? "" : ":********")@\(host):\(port)/\(database)"
        if let applicationName { text += "?application_name=\(applicationName)" }
        return text
    }

    /// The keyword/value pairs for `PQconnectdbParams`.
    ///
    /// The session is pinned to ISO dates in UTC so that timestamps decode the same whatever the server's
    /// defaults, and to shortest-exact float output so doubles round-trip.
    var libpqParameters: [(String, String)] {
        var result: [(String, String)] = [
            ("host", host), ("port", String(port)), ("user", user), ("dbname", database),
            ("connect_timeout", String(max(1, connectTimeout.components.seconds))),
            ("options", "-c DateStyle=ISO,YMD -c TimeZone=UTC -c extra_float_digits=3 -c IntervalStyle=postgres"),
            ("client_encoding", "UTF8"),
        ]
        if let password { result.append(("password", password)) }
        if let applicationName { result.append(("application_name", applicationName)) }
        for (key, value) in parameters.sorted(by: { $0.key < $1.key }) { result.append((key, value)) }
        return result
    }
}
