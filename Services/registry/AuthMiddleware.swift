import DTPAuth
import DTPServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Requires `Authorization: Bearer <token>` with a service token or a gateway-issued access JWT, and
/// records the caller in the context.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = RegistryContext

    let serviceTokens: ServiceTokens
    let signer: HS256Signer

    func handle(
        _ request: Request, context: RegistryContext, next: (Request, RegistryContext) async throws -> Response
    ) async throws -> Response {
        guard let header = request.headers[.authorization], header.count > 7,
            header.prefix(7).lowercased() == "bearer "
        else {
            throw APIError.unauthorized("Authentication credentials were not provided.")
        }
        let token = header.dropFirst(7).trimmingCharacters(in: .whitespaces)
        var context = context
        if let service = serviceTokens.service(for: token) {
            context.actor = "service:\(service)"
        } else {
            do {
                let claims = try signer.verifyAccessToken(token)
                context.actor = "user:\(claims.userID)"
            } catch {
                context.logger.debug("token refused", metadata: ["reason": "\(error)"])
                throw APIError.unauthorized("Given token not valid for any token type")
            }
        }
        context.logger[metadataKey: "actor"] = "\(context.caller)"
        return try await next(request, context)
    }
}
