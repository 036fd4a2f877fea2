import DTPAuth
import DTPServiceKit
import Foundation
import Synchronization

/// The claims of the gateway's JWTs: the earlier claims (`token_type`, `exp`, `iat`, `jti`, `user_id`, which
/// the registry's verifier reads) plus the session id, the username and the staff flag.
struct GatewayClaims: Codable, Sendable {
    var tokenType: String
    var exp: Int64
    var iat: Int64
    var jti: String
    var userID: Int64
    /// The session: the refresh-token family, revoked as a whole on logout or reuse.
    var sid: String
    var username: String
    var isStaff: Bool
    /// `read write` for staff, `read` otherwise, for services that look at scopes.
    var scope: String

    enum CodingKeys: String, CodingKey {
        case tokenType = "token_type"
        case exp, iat, jti
        case userID = "user_id"
        case sid, username
        case isStaff = "is_staff"
        case scope
    }
}

/// Signs and checks the gateway's access and refresh tokens, and remembers revoked sessions.
final class TokenIssuer: Sendable {
    let signer: HS256Signer
    let accessLifetime: Duration
    let refreshLifetime: Duration
    /// Revoked sessions until their tokens could have expired anyway.
    private let revoked = Mutex<[String: Date]>([:])

    init(secret: String, accessLifetime: Duration, refreshLifetime: Duration) throws {
        signer = try HS256Signer(secret: secret)
        self.accessLifetime = accessLifetime
        self.refreshLifetime = refreshLifetime
    }

    /// A signed token of `type` for `user` in session `sid`, with its claims.
    func issue(_ type: String, for user: User, session sid: String, now: Date = Date()) throws -> (String, GatewayClaims) {
        let issued = Int64(now.timeIntervalSince1970)
        let lifetime = type == "access" ? accessLifetime : refreshLifetime
        let claims = GatewayClaims(
            tokenType: type, exp: issued + lifetime.components.seconds, iat: issued,
            jti: UUID().uuidString.lowercased(), userID: user.id, sid: sid, username: user.username,
            isStaff: user.isStaff, scope: user.isStaff ? "read write" : "read")
        return (try signer.sign(claims), claims)
    }

    /// The claims of a valid, unrevoked token of `type`; throws ``AuthError`` otherwise (`alg: none`,
    /// another key, expired, wrong type, revoked session).
    func verify(_ token: String, type: String, now: Date = Date()) throws(AuthError) -> GatewayClaims {
        _ = try signer.verify(token, tokenType: type, now: now)
        let claims = try signer.verifiedPayload(token, as: GatewayClaims.self)
        if isRevoked(claims.sid) { throw AuthError.expired }
        return claims
    }

    /// Whether the session `sid` was revoked.
    func isRevoked(_ sid: String) -> Bool {
        revoked.withLock { $0[sid] != nil }
    }

    /// Marks `sid` revoked in memory (the store records it too).
    func markRevoked(_ sid: String, until expires: Date) {
        revoked.withLock { table in
            let now = Date()
            table = table.filter { $0.value > now }
            table[sid] = expires
        }
    }
}

/// Counts failed logins per username and per client address in a sliding window.
///
/// A blocked caller is answered 429 at once, before any bcrypt work, so an attack on one account or from
/// one address costs the others nothing.
final class LoginThrottle: Sendable {
    let perUser: Int
    let perAddress: Int
    let window: Duration
    private let failures = Mutex<[String: [Date]]>([:])

    init(perUser: Int, perAddress: Int, window: Duration) {
        self.perUser = perUser
        self.perAddress = perAddress
        self.window = window
    }

    /// Seconds to wait before `username` or `address` may try again, or nil when they may now.
    func retryAfter(username: String, address: String, now: Date = Date()) -> Int? {
        let seconds = Double(window.components.seconds)
        return failures.withLock { table -> Int? in
            var wait: Double = 0
            for (key, limit) in [("u:" + username.lowercased(), perUser), ("a:" + address, perAddress)] {
                let recent = (table[key] ?? []).filter { now.timeIntervalSince($0) < seconds }
                table[key] = recent.isEmpty ? nil : recent
                if recent.count >= limit, let oldest = recent.first {
                    wait = max(wait, seconds - now.timeIntervalSince(oldest))
                }
            }
            return wait > 0 ? max(1, Int(wait.rounded(.up))) : nil
        }
    }

    /// Records a failed attempt.
    func recordFailure(username: String, address: String, now: Date = Date()) {
        failures.withLock { table in
            table["u:" + username.lowercased(), default: []].append(now)
            table["a:" + address, default: []].append(now)
            if table.count > 100_000 { table.removeAll() }  // bounded memory under a spray of names
        }
    }

    /// Forgets the username's failures after a successful login.
    func recordSuccess(username: String) {
        _ = failures.withLock { $0.removeValue(forKey: "u:" + username.lowercased()) }
    }
}

/// One-time, short-lived tickets for opening the portal stream from a browser's EventSource, which cannot
/// send an `Authorization` header. A ticket names the user and session and works once, within 30 s.
final class StreamTickets: Sendable {
    struct Ticket: Sendable {
        var userID: Int64
        var session: String
        var expires: Date
    }

    let lifetime: TimeInterval = 30
    private let tickets = Mutex<[String: Ticket]>([:])

    /// A new ticket for `userID` in `session`.
    func issue(userID: Int64, session: String) -> (String, Int) {
        var bytes = [UInt8](repeating: 0, count: 32)
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255) }
        let ticket = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        let now = Date()
        tickets.withLock { table in
            table = table.filter { $0.value.expires > now }
            table[ticket] = Ticket(userID: userID, session: session, expires: now.addingTimeInterval(lifetime))
        }
        return (ticket, Int(lifetime))
    }

    /// The ticket's owner, consuming it; nil when unknown, used or expired.
    func redeem(_ ticket: String) -> Ticket? {
        tickets.withLock { table in
            guard let found = table.removeValue(forKey: ticket), found.expires > Date() else { return nil }
            return found
        }
    }
}
