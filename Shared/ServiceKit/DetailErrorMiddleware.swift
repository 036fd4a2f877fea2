import HTTPTypes
import Hummingbird
import Logging

/// Turns every error a route throws into a JSON `{"detail": ...}` response with the right status.
///
/// Hummingbird's own errors (unknown route, undecodable body, body too large) keep their status and
/// message. Anything else is a bug: it is logged with the request ID and answered as a 500 that names
/// the request ID, never the error's text, which may hold internals.
public struct DetailErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The middleware.
    public init() {}

    /// Runs the rest of the chain and converts what it throws.
    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return try error.response(from: request, context: context)
        } catch let error as HTTPError {
            let detail = error.body ?? error.status.reasonPhrase
            return APIError.detailResponse(status: error.status, detail: detail, headers: error.headers)
        } catch let error as any HTTPResponseError {
            return APIError.detailResponse(status: error.status, detail: error.status.reasonPhrase)
        } catch {
            context.logger.error(
                "unhandled error", metadata: ["error": "\(String(reflecting: error))", "path": "\(request.uri.path)"])
            return APIError.detailResponse(
                status: .internalServerError, detail: "internal server error (request \(context.id))")
        }
    }
}
