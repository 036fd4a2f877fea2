import Foundation

/// The claims of a DTP JWT, as the earlier system's (djangorestframework-simplejwt) tokens carried them:
/// `token_type`, `exp`, `iat`, `jti`, `user_id`.
public struct AccessTokenClaims: Codable, Hashable, Sendable {
    /// `access` or `refresh`.
    public var tokenType: String
    /// Expiry, seconds since 1970.
    public var exp: Int64
    /// Issue time, seconds since 1970.
    public var iat: Int64
    /// A unique id for the token, so that it can be revoked.
    public var jti: String
    /// The user the token was issued to.
    public var userID: Int64

    private enum CodingKeys: String, CodingKey {
        case tokenType = "token_type"
        case exp, iat, jti
        case userID = "user_id"
    }

    /// Claims with the given parts.
    public init(tokenType: String = "access", exp: Int64, iat: Int64, jti: String = UUID().uuidString, userID: Int64) {
        self.tokenType = tokenType
        self.exp = exp
        self.iat = iat
        self.jti = jti
        self.userID = userID
    }

    /// Access-token claims for `userID`, issued `now` and valid for `lifetime` (5 minutes, as before).
    public static func access(
        userID: Int64, now: Date = Date(), lifetime: Duration = .seconds(300)
    ) -> AccessTokenClaims {
        let issued = Int64(now.timeIntervalSince1970)
        return AccessTokenClaims(tokenType: "access", exp: issued + lifetime.components.seconds, iat: issued, userID: userID)
    }
}
