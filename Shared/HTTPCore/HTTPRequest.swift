#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// An outbound HTTP request: a value that can be built, copied and sent any number of times.
public struct HTTPRequest: Sendable {
    /// How long the whole transfer may take.
    public enum Timeout: Sendable, Hashable {
        /// The client's default timeout.
        case clientDefault
        /// No limit: for streams that stay open, such as Server-Sent Events.
        case unlimited
        /// At most this long, from the start of the transfer to the last byte of the response.
        case after(Duration)
    }

    /// The request method.
    public var method: HTTPMethod
    /// The absolute URL, `http://` or `https://`.
    public var url: String
    /// The header fields to send; curl adds `Host`, `Content-Length` and `Accept-Encoding` itself.
    public var headers: HTTPHeaders
    /// The body to send, if any; sent with a `Content-Length`.
    public var body: Data?
    /// A body sent as it is read (a file or an async stream); when set, ``body`` is ignored.
    public var upload: HTTPUpload?
    /// How long establishing the connection may take; nil takes the client's default.
    public var connectTimeout: Duration?
    /// How long the whole transfer may take.
    public var timeout: Timeout

    /// A request for `url`; nothing is sent until a client executes it.
    public init(
        method: HTTPMethod = .get, url: String, headers: HTTPHeaders = [:], body: Data? = nil,
        connectTimeout: Duration? = nil, timeout: Timeout = .clientDefault, upload: HTTPUpload? = nil
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.upload = upload
        self.connectTimeout = connectTimeout
        self.timeout = timeout
    }
}
