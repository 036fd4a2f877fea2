#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A complete HTTP response, its body read into memory.
public struct HTTPResponse: Sendable {
    /// The status code, e.g. 200.
    public var status: Int
    /// The header fields of the final response (those of interim 1xx responses are dropped).
    public var headers: HTTPHeaders
    /// The body, decoded from any `Content-Encoding` curl negotiated.
    public var body: Data

    /// A response with these parts; the client builds them, tests and fakes may too.
    public init(status: Int, headers: HTTPHeaders = [:], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The body as UTF-8 text, invalid bytes replaced.
    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// Whether the status is 2xx.
    public var isSuccess: Bool { (200..<300).contains(status) }

    /// This response, or an ``HTTPStatusError`` carrying the status and body text when it is not 2xx.
    @discardableResult
    public func requireSuccess() throws(HTTPStatusError) -> HTTPResponse {
        guard isSuccess else { throw HTTPStatusError(response: self) }
        return self
    }
}

/// The status line and headers of a response whose body has not been read yet.
public struct HTTPResponseHead: Sendable {
    /// The status code, e.g. 200.
    public var status: Int
    /// The header fields of the final response.
    public var headers: HTTPHeaders

    /// A head with these parts.
    public init(status: Int, headers: HTTPHeaders = [:]) {
        self.status = status
        self.headers = headers
    }
}
