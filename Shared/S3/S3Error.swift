/// A failure of an S3 call, with S3's own error code, message and request id where it sent them.
///
/// Compare with the static members (`error == .noSuchKey`), which look only at the kind; ``code`` has
/// S3's exact code. The description starts with "S3" and never contains the secret key.
public struct S3Error: Error, Equatable, CustomStringConvertible {
    private enum Kind: Equatable {
        case noSuchBucket, noSuchKey, accessDenied, unavailable, badDigest, serverError, invalidResponse
        case configuration, localFile, other
    }

    private let kind: Kind
    /// S3's error code, e.g. `NoSuchKey`, `SignatureDoesNotMatch`; for bodiless answers (HEAD) one derived
    /// from the status, e.g. `NotFound`.
    public let code: String?
    /// S3's message, or the HTTP client's when there was no answer.
    public let message: String
    /// S3's request id, for support cases.
    public let requestID: String?
    /// The HTTP status, when the server answered.
    public let status: Int?
    /// The bucket or key the error is about.
    public let resource: String?

    private init(
        _ kind: Kind, code: String? = nil, message: String, requestID: String? = nil, status: Int? = nil,
        resource: String? = nil
    ) {
        self.kind = kind
        self.code = code
        self.message = message
        self.requestID = requestID
        self.status = status
        self.resource = resource
    }

    /// The bucket does not exist (`NoSuchBucket`, or 404 on a bucket HEAD).
    public static let noSuchBucket = S3Error(.noSuchBucket, message: "no such bucket")
    /// The object does not exist (`NoSuchKey`, or 404 on an object HEAD).
    public static let noSuchKey = S3Error(.noSuchKey, message: "no such key")
    /// The credentials were refused (`AccessDenied`, `InvalidAccessKeyId`, `SignatureDoesNotMatch`, 403).
    public static let accessDenied = S3Error(.accessDenied, message: "access denied")
    /// The server could not be reached.
    public static let unavailable = S3Error(.unavailable, message: "S3 is unavailable")
    /// The body did not match its checksum (`BadDigest`, `XAmzContentSHA256Mismatch`).
    public static let badDigest = S3Error(.badDigest, message: "checksum mismatch")
    /// A 5xx answer.
    public static let serverError = S3Error(.serverError, message: "server error")
    /// An answer that could not be understood.
    public static let invalidResponse = S3Error(.invalidResponse, message: "invalid response")
    /// The configuration is missing or malformed.
    public static let configuration = S3Error(.configuration, message: "invalid configuration")
    /// A local file could not be read.
    public static let localFile = S3Error(.localFile, message: "local file error")
    /// Any other S3 error; see ``code``.
    public static let other = S3Error(.other, message: "S3 error")

    /// The same kind with the details of one failure.
    func with(
        code: String? = nil, message: String, requestID: String? = nil, status: Int? = nil, resource: String? = nil
    ) -> S3Error {
        S3Error(kind, code: code, message: message, requestID: requestID, status: status, resource: resource)
    }

    /// The kind for S3's `code` and the HTTP `status`.
    static func kind(code: String?, status: Int) -> S3Error {
        switch code {
        case "NoSuchBucket": return .noSuchBucket
        case "NoSuchKey": return .noSuchKey
        case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken":
            return .accessDenied
        case "BadDigest", "XAmzContentSHA256Mismatch", "InvalidDigest": return .badDigest
        default:
            if status == 403 || status == 401 { return .accessDenied }
            if status >= 500 { return .serverError }
            return .other
        }
    }

    /// Same kind, whatever the details.
    public static func == (lhs: S3Error, rhs: S3Error) -> Bool { lhs.kind == rhs.kind }

    /// "S3", S3's code, the status, its message, the resource and the request id.
    public var description: String {
        var text = "S3 \(code ?? "\(kind)")"
        if let status { text += " (HTTP \(status))" }
        text += ": \(message)"
        if let resource { text += " [\(resource)]" }
        if let requestID { text += " (request id \(requestID))" }
        return text
    }
}
