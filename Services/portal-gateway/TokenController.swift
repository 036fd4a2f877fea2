import DTPAuth
import DTPModel
import DTPServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Login, token refresh with rotation, logout, `me`, and portal stream tickets.
struct TokenController: Sendable {
    let store: GatewayStore
    let hasher: PasswordHasher
    let tokens: TokenIssuer
    let throttle: LoginThrottle
    let tickets: StreamTickets
    let secureCookies: Bool
    let maxBodyBytes: Int

    func addRoutes(to router: Router<GatewayContext>) {
        router.post("api/token", use: login)
        router.post("api/token/refresh", use: refresh)
        router.post("api/logout", use: logout)
        router.get("api/me", use: me)
        router.get("api/me/twins", use: myCards)
        router.post("api/portal/stream-ticket", use: streamTicket)
    }

    /// `POST /api/token/ {username, password}` → `{access, refresh}`, and the session cookie.
    @Sendable func login(_ request: Request, context: GatewayContext) async throws -> Response {
        let body = try await JSONBody.object(request, limit: 64 * 1024)
        let fields = try JSONBody.require(["username", "password"], in: body)
        let (username, password) = (fields[0], fields[1])
        if let wait = throttle.retryAfter(username: username, address: context.clientAddress) {
            throw APIError(
                .tooManyRequests, "Too many failed logins; try again in \(wait) seconds.",
                headers: [.retryAfter: "\(wait)"])
        }
        let found = try await store.credentials(username: username)
        var verified = false
        if let (_, hash) = found {
            verified = await hasher.verify(password, against: hash)
        } else {
            await hasher.verifyDecoy(password)
        }
        guard verified, let (user, _) = found, store.index.user(user.id) != nil else {
            throttle.recordFailure(username: username, address: context.clientAddress)
            context.logger.info("login failed", metadata: ["username": "\(username)"])
            throw APIError(.unauthorized, "No active account found with the given credentials")
        }
        throttle.recordSuccess(username: username)
        let session = UUID().uuidString.lowercased()
        return try await issuePair(for: user, session: session)
    }

    /// `POST /api/token/refresh/ {refresh}` → a new `{access, refresh}`; the old refresh token is spent, and
    /// spending it again revokes the whole session.
    @Sendable func refresh(_ request: Request, context: GatewayContext) async throws -> Response {
        let body = try await JSONBody.object(request, limit: 64 * 1024)
        let token = try JSONBody.require(["refresh"], in: body)[0]
        let claims: GatewayClaims
        do {
            claims = try tokens.verify(token, type: "refresh")
        } catch {
            throw APIError(.unauthorized, "Token is invalid or expired")
        }
        switch try await store.useRefresh(jti: claims.jti) {
        case .fresh:
            guard let user = store.index.user(claims.userID) else {
                throw APIError(.unauthorized, "Token is invalid or expired")
            }
            return try await issuePair(for: user, session: claims.sid)
        case .reused:
            let expires = Date(timeIntervalSince1970: TimeInterval(claims.exp))
            try await store.revokeFamily(claims.sid, reason: "refresh token reused", expires: expires)
            tokens.markRevoked(claims.sid, until: expires)
            context.logger.notice("refresh token reused; session revoked", metadata: ["user_id": "\(claims.userID)"])
            throw APIError(.unauthorized, "Token is invalid or expired")
        case .unknown:
            throw APIError(.unauthorized, "Token is invalid or expired")
        }
    }

    /// `POST /api/logout`: revokes the session of the access token (or of a `refresh` in the body) and
    /// clears the cookie.
    @Sendable func logout(_ request: Request, context: GatewayContext) async throws -> Response {
        var session = context.session
        if session == nil {
            let body = try await JSONBody.object(request, limit: 64 * 1024)
            if let refresh = body["refresh"]?.stringValue, let claims = try? tokens.verify(refresh, type: "refresh") {
                session = claims.sid
            }
        }
        guard let session else { throw APIError.unauthorized("Authentication credentials were not provided.") }
        let expires = Date().addingTimeInterval(TimeInterval(tokens.refreshLifetime.components.seconds))
        try await store.revokeFamily(session, reason: "logout", expires: expires)
        tokens.markRevoked(session, until: expires)
        var response = JSONBody.response(["ok": true])
        response.headers[.setCookie] = cookie(value: "", maxAge: 0)
        return response
    }

    /// `GET /api/me/`.
    @Sendable func me(_ request: Request, context: GatewayContext) async throws -> Response {
        JSONBody.response(try context.requireUser().json)
    }

    /// `GET /api/me/twins/`: the cards the user is granted.
    @Sendable func myCards(_ request: Request, context: GatewayContext) async throws -> Response {
        let user = try context.requireUser()
        let snapshot = store.index.snapshot
        let cards = user.isStaff
            ? snapshot.cards.values.filter { snapshot.grants[user.id]?.contains($0.id) ?? false }
            : snapshot.cards(of: user)
        return JSONBody.response(.array(cards.sorted { ($0.name, $0.id) < ($1.name, $1.id) }.map(\.json)))
    }

    /// `POST /api/portal/stream-ticket` → `{ticket, expires_in}`: a one-time ticket for `?ticket=`.
    @Sendable func streamTicket(_ request: Request, context: GatewayContext) async throws -> Response {
        let user = try context.requireUser()
        let (ticket, lifetime) = tickets.issue(userID: user.id, session: context.session ?? "")
        return JSONBody.response(["ticket": .string(ticket), "expires_in": .int(lifetime)], status: .created)
    }

    private func issuePair(for user: User, session: String) async throws -> Response {
        let (access, _) = try tokens.issue("access", for: user, session: session)
        let (refresh, refreshClaims) = try tokens.issue("refresh", for: user, session: session)
        try await store.insertRefresh(
            jti: refreshClaims.jti, family: session, userID: user.id,
            expires: Date(timeIntervalSince1970: TimeInterval(refreshClaims.exp)))
        var response = JSONBody.response(["access": .string(access), "refresh": .string(refresh)])
        response.headers[.setCookie] = cookie(value: access, maxAge: Int(tokens.accessLifetime.components.seconds))
        response.headers[.cacheControl] = "no-store"
        return response
    }

    private func cookie(value: String, maxAge: Int) -> String {
        "\(AuthMiddleware.cookieName)=\(value); Path=/api/; Max-Age=\(maxAge); HttpOnly; SameSite=Strict"
            + (secureCookies ? "; Secure" : "")
    }
}
