import DTPServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Security headers on every response: no MIME sniffing, no framing of the gateway's pages, no referrer,
/// and a Content-Security-Policy that allows no inline script.
struct SecurityHeadersMiddleware: RouterMiddleware {
    typealias Context = GatewayContext

    static let defaultPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "frame-src 'self' http: https:; object-src 'none'; base-uri 'self'; form-action 'self'; "
        + "frame-ancestors 'none'"

    let policy: String

    func handle(
        _ request: Request, context: GatewayContext, next: (Request, GatewayContext) async throws -> Response
    ) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.contentSecurityPolicy] = policy
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.xFrameOptions] = "DENY"
        response.headers[.referrerPolicy] = "no-referrer"
        return response
    }
}

/// CORS for the configured origins only (`DTP_CORS_ORIGINS`); without it, no CORS header is ever sent and
/// browsers keep other sites out.
struct CORSOriginsMiddleware: RouterMiddleware {
    typealias Context = GatewayContext

    let origins: Set<String>

    func handle(
        _ request: Request, context: GatewayContext, next: (Request, GatewayContext) async throws -> Response
    ) async throws -> Response {
        guard let origin = request.headers[.origin], origins.contains(origin) || origins.contains("*") else {
            return try await next(request, context)
        }
        var response: Response
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            response = Response(status: .noContent)
            response.headers[.accessControlAllowMethods] = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
            response.headers[.accessControlAllowHeaders] =
                request.headers[.accessControlRequestHeaders] ?? "Authorization, Content-Type"
            response.headers[.accessControlMaxAge] = "600"
        } else {
            response = try await next(request, context)
        }
        response.headers[.accessControlAllowOrigin] = origin
        response.headers[.accessControlAllowCredentials] = "true"
        response.headers[.vary] = "Origin"
        response.headers[.accessControlExposeHeaders] = "ETag, Link, Location, X-Request-ID, Retry-After"
        return response
    }
}

/// Serves the portal's `index.html` for `GET`s of unknown paths outside the API, so the portal's own
/// client-side routes load on a refresh.
struct IndexFallbackMiddleware: RouterMiddleware {
    typealias Context = GatewayContext

    let directory: String

    func handle(
        _ request: Request, context: GatewayContext, next: (Request, GatewayContext) async throws -> Response
    ) async throws -> Response {
        let response: Response
        do {
            response = try await next(request, context)
            guard response.status == .notFound else { return response }
        } catch let error as any HTTPResponseError where error.status == .notFound {
            guard let index = fallback(request) else { throw error }
            return index
        }
        return fallback(request) ?? response
    }

    private func fallback(_ request: Request) -> Response? {
        let path = request.uri.path
        guard request.method == .get || request.method == .head, !path.hasPrefix("/api/"), path != "/api",
            !["/healthz", "/readyz", "/metrics", "/openapi.json"].contains(path),
            let data = FileManager.default.contents(atPath: directory + "/index.html")
        else { return nil }
        return Response(
            status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-cache"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension HTTPField.Name {
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
}
