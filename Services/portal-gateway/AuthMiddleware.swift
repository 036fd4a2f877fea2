import DTPAuth
import DTPServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Finds who is calling: a gateway access token in `Authorization: Bearer`, or (for `GET`s only, so a
/// cross-site form cannot use it) the HttpOnly session cookie. A bad token is a 401 at once; no token
/// leaves the request anonymous for the route to decide. Service tokens are recognised but give no user:
/// the gateway is the people's door, and services talk to the registry directly.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = GatewayContext

    static let cookieName = "dtp_session"

    let tokens: TokenIssuer
    let index: AccessIndex
    let serviceTokens: ServiceTokens

    func handle(
        _ request: Request, context: GatewayContext, next: (Request, GatewayContext) async throws -> Response
    ) async throws -> Response {
        var context = context
        var token: String?
        if let header = request.headers[.authorization] {
            guard header.count > 7, header.prefix(7).lowercased() == "bearer " else {
                throw APIError.unauthorized("Authorization header must be 'Bearer <token>'")
            }
            token = header.dropFirst(7).trimmingCharacters(in: .whitespaces)
        } else if request.method == .get || request.method == .head, let cookie = Self.cookie(request) {
            token = cookie
        }
        if let token {
            if let service = serviceTokens.service(for: token) {
                context.service = service
            } else {
                do {
                    let claims = try tokens.verify(token, type: "access")
                    guard let user = index.user(claims.userID) else { throw AuthError.missingClaim }
                    context.user = user
                    context.session = claims.sid
                    context.logger[metadataKey: "user_id"] = "\(user.id)"
                } catch {
                    context.logger.debug("token refused", metadata: ["reason": "\(error)"])
                    throw APIError.unauthorized("Given token not valid for any token type")
                }
            }
        }
        return try await next(request, context)
    }

    /// The session cookie's value.
    static func cookie(_ request: Request) -> String? {
        for field in request.headers[values: .cookie] {
            for part in field.split(separator: ";") {
                let pair = part.split(separator: "=", maxSplits: 1)
                if pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces) == cookieName {
                    return pair[1].trimmingCharacters(in: .whitespaces)
                }
            }
        }
        return nil
    }
}
