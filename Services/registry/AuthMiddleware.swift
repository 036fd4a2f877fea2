import DTPAuth
import DTPServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Requires `Authorization: Bearer <token>` with a service token or a gateway-issued access JWT of a
/// staff user, and records the caller in the context.
///
/// The registry knows nothing of grants: those live in the gateway, which calls the registry with its own
/// service token and filters per user. A non-staff user's token would let its holder read and write every
/// tenant's twins here, so it is refused (403) and such users go through the gateway.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = RegistryContext

    let serviceTokens: ServiceTokens
    let signer: HS256Signer
    /// Access tokens verified before, until they expire.
    let verified = VerifiedTokens()

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
                let claims = try verified.claims(for: token) { try signer.verifyAccessToken($0) }
                guard claims.isStaff else {
                    throw APIError.forbidden(
                        "You do not have permission to perform this action: only staff may call the registry "
                            + "directly; use the portal gateway")
                }
                context.actor = "user:\(claims.userID)"
            } catch let error as APIError {
                throw error
            } catch {
                context.logger.debug("token refused", metadata: ["reason": "\(error)"])
                throw APIError.unauthorized("Given token not valid for any token type")
            }
        }
        context.logger[metadataKey: "actor"] = "\(context.caller)"
        return try await next(request, context)
    }
}
