import Crypto
import DTPAuth
import Foundation
import Synchronization

/// Access tokens already verified, so that a client sending the same token on every request pays for its
/// HMAC and its two JSON decodings once, not each time, until the token expires.
///
/// Entries are keyed by the SHA-256 digest of the token (the token itself is not kept, and a lookup
/// compares digests, which tell nothing about a valid token). Only tokens whose signature, type and times
/// checked out are kept; a hit is checked for expiry again against the clock, exactly as verification
/// checks it, so a cached token stops working the second it would have been refused. Issue time needs
/// no second look: a token valid once stays past its `iat`. At most `capacity` tokens are kept: when full,
/// the expired ones go, and if none has expired, all go.
final class VerifiedTokens: Sendable {
    let capacity: Int
    private let entries = Mutex<[SHA256Digest: AccessTokenClaims]>([:])

    init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    /// The claims of `token`: cached while unexpired, else from `verify`, which throws for a bad token.
    func claims(
        for token: String, now: Date = Date(), verify: (String) throws -> AccessTokenClaims
    ) throws -> AccessTokenClaims {
        let key = SHA256.hash(data: Data(token.utf8))
        let seconds = Int64(now.timeIntervalSince1970)
        if let claims = entries.withLock({ $0[key] }) {
            if claims.exp > seconds { return claims }
            _ = entries.withLock { $0.removeValue(forKey: key) }
        }
        let claims = try verify(token)
        entries.withLock { entries in
            if entries.count >= capacity {
                entries = entries.filter { $0.value.exp > seconds }
                if entries.count >= capacity { entries.removeAll() }
            }
            entries[key] = claims
        }
        return claims
    }

    /// Tokens kept now.
    var count: Int { entries.withLock { $0.count } }
}
