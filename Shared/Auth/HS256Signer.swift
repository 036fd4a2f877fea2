import Crypto
import Foundation

/// Signs and verifies HS256 JSON Web Tokens with one shared secret.
///
/// Only `HS256` is accepted on verification: a header with `alg: none`, an asymmetric algorithm or any
/// other value is refused before the signature is looked at, which closes the classic algorithm-confusion
/// holes. The signature is compared in constant time (`HMAC.isValidAuthenticationCode`).
public struct HS256Signer: Sendable {
    private let key: SymmetricKey
    /// Allowed clock difference between issuer and verifier, for `iat`.
    public let leeway: Int64

    /// A signer with `secret`; throws ``AuthError/weakKey`` for secrets shorter than 32 bytes, which
    /// HS256 must not use (RFC 7518 §3.2).
    public init(secret: some DataProtocol, leeway: Int64 = 30) throws(AuthError) {
        guard secret.count >= 32 else { throw AuthError.weakKey }
        self.key = SymmetricKey(data: Data(secret))
        self.leeway = leeway
    }

    /// A signer with the UTF-8 bytes of `secret`.
    public init(secret: String, leeway: Int64 = 30) throws(AuthError) {
        try self.init(secret: Data(secret.utf8), leeway: leeway)
    }

    /// The compact JWT for `claims`.
    public func sign(_ claims: some Encodable) throws -> String {
        let header = Self.base64URL(Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let payload = Self.base64URL(try encoder.encode(claims))
        let signingInput = header + "." + payload
        let mac = HMAC<SHA256>.authenticationCode(for: Data(signingInput.utf8), using: key)
        return signingInput + "." + Self.base64URL(Data(mac))
    }

    /// The claims of `token` once its algorithm and signature check out; no time checks.
    public func verifiedPayload<Claims: Decodable>(_ token: String, as type: Claims.Type) throws(AuthError) -> Claims {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerData = Self.data(base64URL: parts[0]),
            let header = try? JSONDecoder().decode(Header.self, from: headerData)
        else { throw AuthError.malformed }
        guard header.alg == "HS256" else { throw AuthError.unsupportedAlgorithm }
        guard let signature = Self.data(base64URL: parts[2]), let payload = Self.data(base64URL: parts[1]) else {
            throw AuthError.malformed
        }
        let signingInput = Data(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: signingInput, using: key) else {
            throw AuthError.badSignature
        }
        guard let claims = try? JSONDecoder().decode(Claims.self, from: payload) else { throw AuthError.missingClaim }
        return claims
    }

    /// The claims of an access token: signature, `token_type == "access"`, `exp` and `iat` verified.
    public func verifyAccessToken(_ token: String, now: Date = Date()) throws(AuthError) -> AccessTokenClaims {
        try verify(token, tokenType: "access", now: now)
    }

    /// The claims of a token of `tokenType`, verified as ``verifyAccessToken(_:now:)`` does.
    public func verify(_ token: String, tokenType: String, now: Date = Date()) throws(AuthError) -> AccessTokenClaims {
        let claims = try verifiedPayload(token, as: AccessTokenClaims.self)
        let seconds = Int64(now.timeIntervalSince1970)
        guard claims.tokenType == tokenType else { throw AuthError.wrongTokenType }
        guard claims.exp > seconds else { throw AuthError.expired }
        guard claims.iat <= seconds + leeway else { throw AuthError.notYetValid }
        return claims
    }

    private struct Header: Decodable {
        let alg: String
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func data(base64URL text: Substring) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        guard !base64.contains("=") else { return nil }
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64)
    }
}
