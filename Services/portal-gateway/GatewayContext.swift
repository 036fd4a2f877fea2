import DTPServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The gateway's request context: the core context, the client's address and the signed-in user.
struct GatewayContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The peer's IP address, for login throttling.
    var clientAddress: String
    /// The user of a valid access token, set by ``AuthMiddleware``.
    var user: User?
    /// The session (refresh-token family) of that token.
    var session: String?
    /// A service token was presented instead of a user's credentials.
    var service: String?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        clientAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
        user = nil
        session = nil
        service = nil
    }

    /// The signed-in user, or 401.
    func requireUser() throws -> User {
        guard let user else { throw APIError.unauthorized("Authentication credentials were not provided.") }
        return user
    }

    /// The signed-in staff user: 401 without a user, 403 for others.
    func requireStaff() throws -> User {
        let user = try requireUser()
        guard user.isStaff else { throw APIError.forbidden("You do not have permission to perform this action.") }
        return user
    }
}
