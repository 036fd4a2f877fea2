/// A failure of a Neo4j call: Neo4j's status code (`Neo.ClientError.Statement.SyntaxError`) and message,
/// or the HTTP client's message when the server could not be reached.
///
/// Compare with the static members (`error == .syntaxError`), which look only at the kind. The
/// description starts with "Neo4j" and never contains the password.
public struct Neo4jError: Error, Equatable, CustomStringConvertible {
    private enum Kind: Equatable {
        case syntaxError, constraintViolation, unauthorized, clientError, transientError, databaseError
        case unavailable, invalidResponse, configuration
    }

    private let kind: Kind
    /// Neo4j's status code, e.g. `Neo.ClientError.Statement.SyntaxError`.
    public let code: String?
    /// Neo4j's message, or the HTTP client's.
    public let message: String
    /// The HTTP status, when the server answered.
    public let status: Int?

    private init(_ kind: Kind, code: String? = nil, message: String, status: Int? = nil) {
        self.kind = kind
        self.code = code
        self.message = message
        self.status = status
    }

    /// The Cypher did not parse (`Neo.ClientError.Statement.SyntaxError`).
    public static let syntaxError = Neo4jError(.syntaxError, message: "syntax error")
    /// A constraint was violated (`Neo.ClientError.Schema.ConstraintValidationFailed`).
    public static let constraintViolation = Neo4jError(.constraintViolation, message: "constraint violation")
    /// The credentials were refused (`Neo.ClientError.Security.*`, HTTP 401/403).
    public static let unauthorized = Neo4jError(.unauthorized, message: "unauthorized")
    /// Any other `Neo.ClientError`: the request was wrong and retrying will not help.
    public static let clientError = Neo4jError(.clientError, message: "client error")
    /// A `Neo.TransientError`: retrying the transaction may succeed.
    public static let transientError = Neo4jError(.transientError, message: "transient error")
    /// A `Neo.DatabaseError`: the server failed.
    public static let databaseError = Neo4jError(.databaseError, message: "database error")
    /// The server could not be reached.
    public static let unavailable = Neo4jError(.unavailable, message: "Neo4j is unavailable")
    /// The answer was not Neo4j's JSON.
    public static let invalidResponse = Neo4jError(.invalidResponse, message: "invalid response")
    /// The configuration is missing or malformed.
    public static let configuration = Neo4jError(.configuration, message: "invalid configuration")

    /// The same kind with the details of one failure.
    func with(code: String? = nil, message: String, status: Int? = nil) -> Neo4jError {
        Neo4jError(kind, code: code, message: message, status: status)
    }

    /// The kind of a Neo4j status code.
    static func kind(code: String) -> Neo4jError {
        if code == "Neo.ClientError.Statement.SyntaxError" { return .syntaxError }
        if code == "Neo.ClientError.Schema.ConstraintValidationFailed" { return .constraintViolation }
        if code.hasPrefix("Neo.ClientError.Security.") { return .unauthorized }
        if code.hasPrefix("Neo.TransientError.") { return .transientError }
        if code.hasPrefix("Neo.DatabaseError.") { return .databaseError }
        return .clientError
    }

    /// Same kind, whatever the details.
    public static func == (lhs: Neo4jError, rhs: Neo4jError) -> Bool { lhs.kind == rhs.kind }

    /// "Neo4j", Neo4j's code (or the kind), the status and the message.
    public var description: String {
        var text = "Neo4j \(code ?? "\(kind)")"
        if let status { text += " (HTTP \(status))" }
        return text + ": \(message)"
    }
}
