/// A failure of an InfluxDB call, carrying the server's own message.
///
/// Compare with the static members (`error == .unauthorized`), which look only at the kind. The
/// description always starts with "InfluxDB" and never contains a token or password.
public struct InfluxDBError: Error, Equatable, CustomStringConvertible {
    private enum Code: Equatable {
        case unavailable, unauthorized, notFound, rejectedPoints, badRequest, tooLarge, throttled, serverError
        case queryFailed, invalidPoint, invalidResponse, configuration, compression
    }

    private let code: Code
    /// What went wrong, in the server's words where it said anything.
    public let message: String
    /// The HTTP status, when the server answered.
    public let status: Int?
    /// For rejected points: each line the server named, with its reason.
    public let rejectedLines: [InfluxRejectedLine]
    /// For partial writes: how many points the server said it dropped, if it said.
    public let droppedPoints: Int?

    private init(
        _ code: Code, message: String, status: Int? = nil, rejectedLines: [InfluxRejectedLine] = [],
        droppedPoints: Int? = nil
    ) {
        self.code = code
        self.message = message
        self.status = status
        self.rejectedLines = rejectedLines
        self.droppedPoints = droppedPoints
    }

    /// The server could not be reached (down, refused, timed out): the message is the HTTP client's.
    public static let unavailable = InfluxDBError(.unavailable, message: "InfluxDB is unavailable")
    /// The server refused the credentials (401/403).
    public static let unauthorized = InfluxDBError(.unauthorized, message: "unauthorized")
    /// The database, bucket or organisation does not exist (404).
    public static let notFound = InfluxDBError(.notFound, message: "not found")
    /// The server refused some or all points of a write (400 with `partial write` or `unable to parse`);
    /// ``rejectedLines`` says which.
    public static let rejectedPoints = InfluxDBError(.rejectedPoints, message: "points rejected")
    /// The server refused the request for another reason (400).
    public static let badRequest = InfluxDBError(.badRequest, message: "bad request")
    /// The body exceeded the server's limit (413).
    public static let tooLarge = InfluxDBError(.tooLarge, message: "request too large")
    /// The server kept answering 429 or 503 until the retry attempts ran out.
    public static let throttled = InfluxDBError(.throttled, message: "throttled")
    /// The server answered with another status (5xx and the like).
    public static let serverError = InfluxDBError(.serverError, message: "server error")
    /// A query statement failed (InfluxQL syntax, unknown database, ...).
    public static let queryFailed = InfluxDBError(.queryFailed, message: "query failed")
    /// A point cannot be written as line protocol (no fields, NaN, a line break in a name, ...).
    public static let invalidPoint = InfluxDBError(.invalidPoint, message: "invalid point")
    /// The server's answer could not be understood.
    public static let invalidResponse = InfluxDBError(.invalidResponse, message: "invalid response")
    /// The configuration is missing or malformed.
    public static let configuration = InfluxDBError(.configuration, message: "invalid configuration")
    /// zlib could not compress a write body.
    public static let compression = InfluxDBError(.compression, message: "compression failed")

    /// The same kind with the details of one failure.
    func with(
        message: String, status: Int? = nil, rejectedLines: [InfluxRejectedLine] = [], droppedPoints: Int? = nil
    ) -> InfluxDBError {
        InfluxDBError(code, message: message, status: status, rejectedLines: rejectedLines, droppedPoints: droppedPoints)
    }

    /// Same kind, whatever the details.
    public static func == (lhs: InfluxDBError, rhs: InfluxDBError) -> Bool { lhs.code == rhs.code }

    /// "InfluxDB", the kind, the status and the server's message, then the rejected lines if any.
    public var description: String {
        var text = "InfluxDB \(code)"
        if let status { text += " (HTTP \(status))" }
        text += ": \(message)"
        if !rejectedLines.isEmpty {
            let shown = rejectedLines.prefix(5).map { "line \($0.lineNumber): \($0.reason)" }
            text += " [\(rejectedLines.count) line(s) rejected: \(shown.joined(separator: "; "))"
            text += rejectedLines.count > 5 ? "; …]" : "]"
        }
        return text
    }
}

/// One line of a write that the server refused.
public struct InfluxRejectedLine: Sendable, Hashable {
    /// The line's number in the request body, counting from 1.
    public var lineNumber: Int
    /// The line as sent.
    public var line: String
    /// The server's reason.
    public var reason: String

    /// A rejected line.
    public init(lineNumber: Int, line: String, reason: String) {
        self.lineNumber = lineNumber
        self.line = line
        self.reason = reason
    }
}
