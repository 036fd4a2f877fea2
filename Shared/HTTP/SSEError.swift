/// A Server-Sent Events stream that cannot go on: the server answered with something other than an
/// event stream, or reconnecting failed too often.
public struct SSEError: Error, Equatable, CustomStringConvertible {
    private enum Code: Equatable { case badStatus, badContentType, reconnectsExhausted }

    private let code: Code
    /// The status of the response that ended the stream, if there was one.
    public let status: Int?
    /// What went wrong, with the server's body text or the last connection error.
    public let message: String

    private init(_ code: Code, status: Int? = nil, message: String) {
        self.code = code
        self.status = status
        self.message = message
    }

    /// The server answered with a status other than 200 (or 204, which ends the stream quietly).
    public static let badStatus = SSEError(.badStatus, message: "bad status")
    /// The server answered 200 with a `Content-Type` other than `text/event-stream`.
    public static let badContentType = SSEError(.badContentType, message: "bad content type")
    /// The connection failed more times in a row than the client allows.
    public static let reconnectsExhausted = SSEError(.reconnectsExhausted, message: "reconnects exhausted")

    func with(status: Int?, message: String) -> SSEError { SSEError(code, status: status, message: message) }

    /// Same kind, whatever the details.
    public static func == (lhs: SSEError, rhs: SSEError) -> Bool { lhs.code == rhs.code }

    /// The kind, status and message.
    public var description: String {
        "SSEError.\(code)" + (status.map { " (status \($0))" } ?? "") + ": \(message)"
    }
}
