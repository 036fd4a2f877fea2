import DTPPostgres
import DTPServiceKit
import HTTPTypes
import Hummingbird
import Logging

/// Answers 503 with `Retry-After` when no database connection became free in time, instead of a 500: the
/// request was fine and the same one succeeds once the load passes, which clients (discovery's queue, a
/// bulk writer) can only tell from the status.
struct DatabaseBusyMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as PostgresError where error == .acquireTimeout {
            context.logger.warning("database busy: no connection became free in time")
            throw APIError(.serviceUnavailable, "database busy; retry shortly", headers: [.retryAfter: "1"])
        }
    }
}
