#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import HTTPTypes
import Hummingbird

/// An error that reaches the client as `{"detail": "..."}` with its status, the shape DTP's API
/// (and the earlier system's clients) expect from every endpoint.
public struct APIError: HTTPResponseError, Sendable, CustomStringConvertible {
    /// The response status.
    public let status: HTTPResponse.Status
    /// What went wrong, in words a client can show.
    public let detail: String
    /// Extra response headers, such as `WWW-Authenticate` or `Retry-After`.
    public let headers: HTTPFields

    /// An error with `status` and `detail`.
    public init(_ status: HTTPResponse.Status, _ detail: String, headers: HTTPFields = [:]) {
        self.status = status
        self.detail = detail
        self.headers = headers
    }

    /// `HTTP 404: twin not found`.
    public var description: String { "HTTP \(status.code): \(detail)" }

    /// The JSON response.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        Self.detailResponse(status: status, detail: detail, headers: headers)
    }

    /// A `{"detail": ...}` response, for errors that are not ``APIError``s.
    public static func detailResponse(
        status: HTTPResponse.Status, detail: String, headers: HTTPFields = [:]
    ) -> Response {
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        let body = (try? JSONEncoder().encode(["detail": detail])) ?? Data(#"{"detail":"error"}"#.utf8)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// 400 Bad Request.
    public static func badRequest(_ detail: String) -> APIError { APIError(.badRequest, detail) }
    /// 401 Unauthorized, with the `WWW-Authenticate` challenge the earlier API sent.
    public static func unauthorized(_ detail: String) -> APIError {
        APIError(.unauthorized, detail, headers: [.wwwAuthenticate: #"Bearer realm="api""#])
    }
    /// 403 Forbidden.
    public static func forbidden(_ detail: String) -> APIError { APIError(.forbidden, detail) }
    /// 404 Not Found.
    public static func notFound(_ detail: String) -> APIError { APIError(.notFound, detail) }
    /// 409 Conflict.
    public static func conflict(_ detail: String) -> APIError { APIError(.conflict, detail) }
    /// 413 Content Too Large.
    public static func contentTooLarge(_ detail: String) -> APIError { APIError(.contentTooLarge, detail) }
    /// 422 Unprocessable Content.
    public static func unprocessable(_ detail: String) -> APIError { APIError(.unprocessableContent, detail) }
    /// 503 Service Unavailable.
    public static func unavailable(_ detail: String) -> APIError { APIError(.serviceUnavailable, detail) }
}
