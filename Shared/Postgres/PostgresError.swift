import CLibPQ

/// An error from the PostgreSQL client: a server error with its SQLSTATE, a lost or refused connection
/// with libpq's own message, a value that cannot be decoded, or a pool that could not hand out a
/// connection.
///
/// Like async-http-client's `HTTPClientError`, the kinds are static members over a private code, so
/// new kinds can be added without breaking anyone's `switch`; compare with `==` or look at ``sqlState``.
public struct PostgresError: Error, CustomStringConvertible, Equatable, Sendable {
    private enum Code: Hashable, Sendable {
        case server
        case connection
        case decoding
        case encoding
        case acquireTimeout
        case poolClosed
        case protocolViolation
    }

    private let code: Code

    /// The five-character SQLSTATE the server reported (`PG_DIAG_SQLSTATE`), for example `42P01`.
    public let sqlState: String?
    /// The server's primary message, or libpq's `PQerrorMessage`, or a description of the failure.
    public let message: String
    /// The server's optional detail line (`PG_DIAG_MESSAGE_DETAIL`).
    public let detail: String?
    /// The server's optional hint (`PG_DIAG_MESSAGE_HINT`).
    public let hint: String?
    /// The column that failed to decode, for decoding errors.
    public let column: String?

    private init(
        _ code: Code, message: String, sqlState: String? = nil, detail: String? = nil, hint: String? = nil,
        column: String? = nil
    ) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
        self.hint = hint
        self.column = column
    }

    /// Any error the server reported for a statement.
    public static let server = PostgresError(.server, message: "server error")
    /// The connection could not be made, or was lost.
    public static let connection = PostgresError(.connection, message: "connection error")
    /// A column's value could not be decoded as the requested Swift type.
    public static let decoding = PostgresError(.decoding, message: "decoding error")
    /// A value could not be encoded for the server.
    public static let encoding = PostgresError(.encoding, message: "encoding error")
    /// No connection became free within the pool's acquire timeout.
    public static let acquireTimeout = PostgresError(.acquireTimeout, message: "acquire timeout")
    /// The pool was closed.
    public static let poolClosed = PostgresError(.poolClosed, message: "pool closed")
    /// The server or libpq answered in a way the client did not expect.
    public static let protocolViolation = PostgresError(.protocolViolation, message: "protocol violation")

    /// Errors of the same kind compare equal, whatever their message: `error == .acquireTimeout`.
    public static func == (lhs: PostgresError, rhs: PostgresError) -> Bool { lhs.code == rhs.code }

    /// Whether the error means the connection it happened on can no longer be used: libpq reports the
    /// connection as bad, or the server's SQLSTATE is of class 08 (connection exception) or says it is
    /// shutting down or terminated the session (57P01, 57P02, 57P03).
    public var isConnectionLost: Bool {
        if code == .connection { return true }
        guard let sqlState else { return false }
        return sqlState.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(sqlState)
    }

    /// A readable account of the error. It never includes a password: the connection settings are not
    /// part of it, and libpq's messages do not repeat the password.
    public var description: String {
        var text: String
        switch code {
        case .server: text = "PostgreSQL error"
        case .connection: text = "PostgreSQL connection error"
        case .decoding: text = "PostgreSQL decoding error"
        case .encoding: text = "PostgreSQL encoding error"
        case .acquireTimeout: text = "PostgreSQL pool acquire timeout"
        case .poolClosed: text = "PostgreSQL pool closed"
        case .protocolViolation: text = "PostgreSQL protocol violation"
        }
        if let sqlState { text += " \(sqlState)" }
        text += ": \(message)"
        if let detail { text += " (detail: \(detail))" }
        if let hint { text += " (hint: \(hint))" }
        return text
    }

    static func server(
        sqlState: String?, message: String, detail: String?, hint: String?
    ) -> PostgresError {
        PostgresError(.server, message: message, sqlState: sqlState, detail: detail, hint: hint)
    }

    static func connection(_ message: String) -> PostgresError {
        PostgresError(.connection, message: message)
    }

    static func decoding(column: String, postgresType: String, swiftType: Any.Type, reason: String) -> PostgresError {
        PostgresError(
            .decoding,
            message: "cannot decode column \"\(column)\" of type \(postgresType) as \(swiftType): \(reason)",
            column: column)
    }

    static func encoding(_ message: String) -> PostgresError { PostgresError(.encoding, message: message) }

    static func acquireTimeout(after timeout: Duration, poolSize: Int) -> PostgresError {
        PostgresError(
            .acquireTimeout,
            message: "no connection became free within \(timeout) (pool size \(poolSize))")
    }

    static func poolClosed(_ message: String = "the pool is closed") -> PostgresError {
        PostgresError(.poolClosed, message: message)
    }

    static func protocolViolation(_ message: String) -> PostgresError {
        PostgresError(.protocolViolation, message: message)
    }
}

/// The one place that turns libpq's outcomes into Swift errors, so every call reports the library's
/// own words (SQLSTATE and server message, or `PQerrorMessage`).
enum LibPQ {
    /// libpq's last error on `connection`, trimmed; never contains the password.
    static func errorMessage(_ connection: OpaquePointer?) -> String {
        guard let connection, let raw = PQerrorMessage(connection) else { return "unknown libpq error" }
        let text = String(cString: raw).trimmingTrailingWhitespace()
        return text.isEmpty ? "unknown libpq error" : text
    }

    /// Checks a `PGresult` from an exec-style call. A nil result is a connection-level failure; a
    /// failed status becomes a server error with its diagnostic fields. Clears the result on failure.
    static func check(_ result: OpaquePointer?, on connection: OpaquePointer?) throws(PostgresError) -> OpaquePointer {
        guard let result else { throw .connection(errorMessage(connection)) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_EMPTY_QUERY, PGRES_SINGLE_TUPLE:
            return result
        default:
            let error = serverError(result, connection: connection)
            PQclear(result)
            throw error
        }
    }

    /// The diagnostic fields of a failed result. Without a SQLSTATE the failure happened on the client
    /// side (for example the connection dropped mid-statement), so it is reported as a connection error
    /// when libpq also considers the connection bad.
    static func serverError(_ result: OpaquePointer, connection: OpaquePointer?) -> PostgresError {
        func field(_ code: UInt8) -> String? {
            guard let raw = PQresultErrorField(result, Int32(code)) else { return nil }
            return String(cString: raw)
        }
        let sqlState = field(UInt8(ascii: "C"))
        let primary = field(UInt8(ascii: "M"))
        if sqlState == nil, let connection, PQstatus(connection) == CONNECTION_BAD {
            return .connection(errorMessage(connection))
        }
        let fallback = PQresultErrorMessage(result).map { String(cString: $0).trimmingTrailingWhitespace() }
        return .server(
            sqlState: sqlState, message: primary ?? fallback ?? errorMessage(connection),
            detail: field(UInt8(ascii: "D")), hint: field(UInt8(ascii: "H")))
    }
}

extension String {
    func trimmingTrailingWhitespace() -> String {
        var scalars = Substring(self)
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
