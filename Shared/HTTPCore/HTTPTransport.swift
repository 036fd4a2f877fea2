/// What sends an ``HTTPRequest`` and returns the whole ``HTTPResponse``: the libcurl client of `DTPHTTP`
/// for the services, or the small NIO client of `DTPHTTPLite` for the twin generators, which stay clear of
/// libcurl and its TLS stack to keep their idle footprint small.
///
/// Store and registry clients that only make plain calls take `any HTTPTransport`, so one code path serves
/// both.
public protocol HTTPTransport: Sendable {
    /// Sends `request` and returns the whole response, whatever its status; throws ``HTTPClientError``
    /// when there is no response.
    func execute(_ request: HTTPRequest) async throws -> HTTPResponse
}
