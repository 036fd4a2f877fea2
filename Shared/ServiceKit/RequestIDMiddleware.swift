import HTTPTypes
import Hummingbird
import Logging

extension HTTPField.Name {
    /// `X-Request-ID`: the ID a request is logged under, echoed on its response.
    public static let requestID = HTTPField.Name("X-Request-ID")!
}

/// Gives each request an ID that its log lines carry and its response returns in `X-Request-ID`.
///
/// A caller's own `X-Request-ID` (up to 128 printable characters) is kept, so one ID follows a
/// request from the gateway through the registry.
public struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The middleware.
    public init() {}

    /// Tags the context's logger and the response.
    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        let id: String
        if let given = request.headers[.requestID], Self.isAcceptable(given) {
            id = given
        } else {
            id = context.id
        }
        context.logger[metadataKey: "request_id"] = .string(id)
        var response = try await next(request, context)
        response.headers[.requestID] = id
        return response
    }

    static func isAcceptable(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 128 && id.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F }
    }
}
