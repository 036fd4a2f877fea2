/// A request that did not produce a response: it timed out, could not connect, was cancelled, or the
/// transfer failed. Carries the transport's own message (curl's error buffer) and result code.
///
/// Compare with the static members (`error == .connectTimeout`), which look only at the kind, so new
/// kinds can be added without breaking callers.
public struct HTTPClientError: Error, Equatable, CustomStringConvertible {
    private enum Code: Equatable {
        case connectTimeout, timeout, connectionRefused, connectFailed, dnsFailure, invalidURL
        case cancelled, shutdown, transport, invalidRequest
    }

    private let code: Code
    /// curl's result code (`CURLcode`), or nil when the client itself failed the request.
    public let curlCode: Int?
    /// curl's message for the failure: its error buffer when it wrote one, else its generic text.
    public let message: String
    /// The request method and URL without user info or query, so no credentials leak into logs.
    public let request: String?

    private init(_ code: Code, curlCode: Int? = nil, message: String, request: String? = nil) {
        self.code = code
        self.curlCode = curlCode
        self.message = message
        self.request = request
    }

    /// Establishing the TCP (and TLS) connection took longer than the connect timeout.
    public static let connectTimeout = HTTPClientError(.connectTimeout, message: "connect timeout")
    /// The connection was made but the whole transfer took longer than the total timeout.
    public static let timeout = HTTPClientError(.timeout, message: "timeout")
    /// The server actively refused the connection: nothing listens on that port.
    public static let connectionRefused = HTTPClientError(.connectionRefused, message: "connection refused")
    /// The connection failed for another reason (unreachable network or host).
    public static let connectFailed = HTTPClientError(.connectFailed, message: "connect failed")
    /// The host name could not be resolved.
    public static let dnsFailure = HTTPClientError(.dnsFailure, message: "DNS failure")
    /// The URL is malformed or uses a scheme curl does not support.
    public static let invalidURL = HTTPClientError(.invalidURL, message: "invalid URL")
    /// The request was cancelled, by task cancellation or by dropping a streaming body.
    public static let cancelled = HTTPClientError(.cancelled, message: "cancelled")
    /// The client was shut down before the request finished.
    public static let shutdown = HTTPClientError(.shutdown, message: "client shut down")
    /// The transfer failed after connecting: the connection closed, a read or write failed, TLS failed.
    public static let transport = HTTPClientError(.transport, message: "transfer failed")
    /// The request could not be handed to curl (for example a header with a line break).
    public static let invalidRequest = HTTPClientError(.invalidRequest, message: "invalid request")

    /// The same kind of error with the details of one failure.
    package func with(curlCode: Int? = nil, message: String, request: String?) -> HTTPClientError {
        HTTPClientError(code, curlCode: curlCode ?? self.curlCode, message: message, request: request)
    }

    /// Same kind, whatever the details.
    public static func == (lhs: HTTPClientError, rhs: HTTPClientError) -> Bool { lhs.code == rhs.code }

    /// The kind, curl's message and code, and the request.
    public var description: String {
        var text = "HTTPClientError.\(code): \(message)"
        if let curlCode { text += " (curl \(curlCode))" }
        if let request { text += " [\(request)]" }
        return text
    }
}

/// A response whose status was not 2xx, where the caller required success.
public struct HTTPStatusError: Error, CustomStringConvertible {
    /// The status code.
    public let status: Int
    /// The response headers.
    public let headers: HTTPHeaders
    /// The response body as text (invalid UTF-8 replaced), which usually says what went wrong.
    public let bodyText: String

    /// The error for `response`.
    public init(response: HTTPResponse) {
        status = response.status
        headers = response.headers
        bodyText = response.bodyText
    }

    /// The status and up to 500 characters of the body.
    public var description: String {
        let excerpt = bodyText.count > 500 ? String(bodyText.prefix(500)) + "…" : bodyText
        return "HTTP status \(status): \(excerpt)"
    }
}
