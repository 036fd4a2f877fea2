import Foundation

/// The claims of a DTP JWT, as the earlier system's (djangorestframework-simplejwt) tokens carried them:
/// `token_type`, `exp`, `iat`, `jti`, `user_id`; plus the gateway's `is_staff`, which the registry
/// requires of a user calling it directly (everyone else goes through the gateway, which applies grants).
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
    /// Whether the user is staff; false when the token does not say.
    public var isStaff: Bool

    private enum CodingKeys: String, CodingKey {
        case tokenType = "token_type"
        case exp, iat, jti
        case userID = "user_id"
        case isStaff = "is_staff"
    }

    /// Claims with the given parts.
    public init(
        tokenType: String = "access", exp: Int64, iat: Int64, jti: String = UUID().uuidString, userID: Int64,
        isStaff: Bool = false
    ) {
        self.tokenType = tokenType
        self.exp = exp
        self.iat = iat
        self.jti = jti
        self.userID = userID
        self.isStaff = isStaff
    }

    /// Decodes the claims; a token without `is_staff` (the earlier system's) is not staff.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        tokenType = try container.decode(String.self, forKey: .tokenType)
        exp = try container.decode(Int64.self, forKey: .exp)
        iat = try container.decode(Int64.self, forKey: .iat)
        jti = try container.decode(String.self, forKey: .jti)
        userID = try container.decode(Int64.self, forKey: .userID)
        isStaff = try container.decodeIfPresent(Bool.self, forKey: .isStaff) ?? false
    }

    /// Access-token claims for `userID`, issued `now` and valid for `lifetime` (5 minutes, as before).
    public static func access(
        userID: Int64, isStaff: Bool = false, now: Date = Date(), lifetime: Duration = .seconds(300)
    ) -> AccessTokenClaims {
        let issued = Int64(now.timeIntervalSince1970)
        return AccessTokenClaims(
            tokenType: "access", exp: issued + lifetime.components.seconds, iat: issued, userID: userID,
            isStaff: isStaff)
    }
}
