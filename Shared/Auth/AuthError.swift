/// Why a token was refused. Messages never include the token or the key.
public struct AuthError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case malformed, unsupportedAlgorithm, badSignature, expired, notYetValid, wrongTokenType, missingClaim
        case weakKey
    }

    private let code: Code
    /// What was wrong, for logs and 401 answers.
    public let message: String

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The token is not three base64url parts of JSON.
    public static let malformed = AuthError(.malformed, "token is malformed")
    /// The header names an algorithm other than HS256 (`none` included).
    public static let unsupportedAlgorithm = AuthError(.unsupportedAlgorithm, "token algorithm is not HS256")
    /// The signature does not match the key.
    public static let badSignature = AuthError(.badSignature, "token signature is invalid")
    /// `exp` has passed.
    public static let expired = AuthError(.expired, "token has expired")
    /// `iat` lies in the future beyond the allowed clock skew.
    public static let notYetValid = AuthError(.notYetValid, "token is not valid yet")
    /// `token_type` is not the one expected (a refresh token used as an access token, say).
    public static let wrongTokenType = AuthError(.wrongTokenType, "token has the wrong token_type")
    /// A required claim is absent or of the wrong type.
    public static let missingClaim = AuthError(.missingClaim, "token lacks a required claim")
    /// An HMAC key shorter than 32 bytes.
    public static let weakKey = AuthError(.weakKey, "HS256 keys must be at least 32 bytes")

    /// Compares the kind of failure, not the message.
    public static func == (lhs: AuthError, rhs: AuthError) -> Bool { lhs.code == rhs.code }

    /// Hashes the kind of failure.
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    /// The message.
    public var description: String { message }
}
