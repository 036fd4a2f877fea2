import Crypto
import Foundation

/// AWS Signature Version 4: header signing and presigned URLs, for S3 and any other AWS-style service.
///
/// The canonical request follows S3's rules: the path is percent-encoded once (S3 object keys are not
/// normalised, so `a/../b` is signed as is), the query is sorted by encoded name then value, header
/// values are trimmed with inner runs of spaces collapsed, and repeated headers are joined with commas.
public struct SigV4Signer: Sendable, CustomStringConvertible {
    /// The access key id, which appears in every signature.
    public let accessKey: String
    private let secretKey: String
    /// The region of the credential scope, e.g. `us-east-1`.
    public let region: String
    /// The service of the credential scope, e.g. `s3`.
    public let service: String

    /// A signer for `service` in `region` with these credentials.
    public init(accessKey: String, secretKey: String, region: String, service: String) {
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.region = region
        self.service = service
    }

    /// The SHA-256 of an empty payload, which S3 expects for requests without a body.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    /// The payload hash that tells S3 the body is not signed (presigned URLs, streams of unknown hash).
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"

    /// Every step of one signature, so that each can be checked against published vectors.
    public struct Signature: Sendable {
        /// The canonical request.
        public var canonicalRequest: String
        /// The string to sign.
        public var stringToSign: String
        /// The signature, lowercase hex.
        public var signature: String
        /// The `Authorization` header value (header signing only).
        public var authorization: String
        /// The signed header names, lowercase, `;`-separated.
        public var signedHeaders: String
    }

    /// Signs a request for the `Authorization` header.
    ///
    /// - Parameters:
    ///   - method: the HTTP method.
    ///   - path: the decoded path, e.g. `/bucket/my key.txt`; it is percent-encoded here.
    ///   - query: decoded query items; encoded and sorted here.
    ///   - headers: every header to sign, `host` and `x-amz-date` included (S3 also wants
    ///     `x-amz-content-sha256`).
    ///   - payloadHash: the hex SHA-256 of the body, or ``unsignedPayload``.
    ///   - date: the time of `x-amz-date`.
    public func sign(
        method: String, path: String, query: [(String, String)], headers: [(String, String)], payloadHash: String,
        date: Date
    ) -> Signature {
        let (amzDate, day) = Self.timestamps(date)
        let canonicalHeaders = Self.canonicalHeaders(headers)
        let canonicalRequest = [
            method, Self.encodePath(path), Self.canonicalQuery(query), canonicalHeaders.text, canonicalHeaders.names,
            payloadHash,
        ].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = [
            "AWS4-HMAC-SHA256", amzDate, scope, Self.hex(SHA256.hash(data: Data(canonicalRequest.utf8))),
        ].joined(separator: "\n")
        let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: signingKey(day)))
        let authorization =
            "AWS4-HMAC-SHA256 Credential=\(accessKey)/\(scope), SignedHeaders=\(canonicalHeaders.names), "
            + "Signature=\(signature)"
        return Signature(
            canonicalRequest: canonicalRequest, stringToSign: stringToSign, signature: signature,
            authorization: authorization, signedHeaders: canonicalHeaders.names)
    }

    /// A presigned URL (query authentication): anyone holding it may make this one request until it
    /// expires. Only `host` is signed and the payload is `UNSIGNED-PAYLOAD`.
    ///
    /// - Parameters:
    ///   - baseURL: scheme and authority, e.g. `https://examplebucket.s3.amazonaws.com`.
    ///   - path: the decoded path, e.g. `/test.txt`.
    ///   - expires: how long the URL is valid, 1 second to 7 days.
    /// - Returns: the URL and the signature's steps.
    public func presign(
        method: String, baseURL: String, path: String, query: [(String, String)] = [], expires: Duration, date: Date
    ) -> (url: String, signature: Signature) {
        let (amzDate, day) = Self.timestamps(date)
        let host = Self.authority(of: baseURL)
        let seconds = min(max(1, expires.components.seconds), 604_800)
        var items = query
        items.append(contentsOf: [
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            ("X-Amz-Credential", "\(accessKey)/\(day)/\(region)/\(service)/aws4_request"),
            ("X-Amz-Date", amzDate), ("X-Amz-Expires", String(seconds)), ("X-Amz-SignedHeaders", "host"),
        ])
        let signature = sign(
            method: method, path: path, query: items, headers: [("host", host)], payloadHash: Self.unsignedPayload,
            date: date)
        let url = baseURL + Self.encodePath(path) + "?" + Self.canonicalQuery(items) + "&X-Amz-Signature="
            + signature.signature
        return (url, signature)
    }

    /// The credential and scope without the secret.
    public var description: String {
        "SigV4Signer(accessKey: \(accessKey), secretKey: <redacted>, region: \(region), service: \(service))"
    }

    // MARK: Steps

    private func signingKey(_ day: String) -> SymmetricKey {
        var key = SymmetricKey(data: Data("AWS4\(secretKey)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        return key
    }

    /// `x-amz-date` (`20150830T123600Z`) and the scope's day (`20150830`), in UTC.
    public static func timestamps(_ date: Date) -> (amzDate: String, day: String) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func two(_ value: Int?) -> String { (value ?? 0) < 10 ? "0\(value ?? 0)" : "\(value ?? 0)" }
        let day = String(format: "%04d", parts.year ?? 0) + two(parts.month) + two(parts.day)
        return (day + "T" + two(parts.hour) + two(parts.minute) + two(parts.second) + "Z", day)
    }

    static func canonicalHeaders(_ headers: [(String, String)]) -> (text: String, names: String) {
        var grouped: [String: [String]] = [:]
        for (name, value) in headers {
            grouped[name.lowercased(), default: []].append(collapseSpaces(value))
        }
        let names = grouped.keys.sorted()
        let text = names.map { "\($0):\(grouped[$0]!.joined(separator: ","))\n" }.joined()
        return (text, names.joined(separator: ";"))
    }

    private static func collapseSpaces(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }

    /// The query with names and values encoded, sorted by name then value.
    public static func canonicalQuery(_ items: [(String, String)]) -> String {
        let encoded: [(name: String, value: String)] = items.map { (encode($0.0), encode($0.1)) }
        let sorted = encoded.sorted { lhs, rhs in
            lhs.name == rhs.name ? lhs.value < rhs.value : lhs.name < rhs.name
        }
        return sorted.map { $0.name + "=" + $0.value }.joined(separator: "&")
    }

    /// `path` with every byte except unreserved characters and `/` percent-encoded.
    public static func encodePath(_ path: String) -> String {
        encode(path, keepSlash: true)
    }

    /// RFC 3986 percent-encoding of everything but `A-Z a-z 0-9 - . _ ~` (and `/` when asked), in
    /// uppercase hex, as SigV4 requires.
    public static func encode(_ text: String, keepSlash: Bool = false) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if isUnreserved(byte) || (keepSlash && byte == 0x2F) {
                result.unicodeScalars.append(UnicodeScalar(byte))
            } else {
                result.append("%")
                result.append(hexDigits[Int(byte >> 4)])
                result.append(hexDigits[Int(byte & 0x0F)])
            }
        }
        return result
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x41...0x5A, 0x61...0x7A, 0x30...0x39: true  // A-Z a-z 0-9
        case 0x2D, 0x2E, 0x5F, 0x7E: true  // - . _ ~
        default: false
        }
    }

    private static let hexDigits: [Character] = Array("0123456789ABCDEF")

    /// Lowercase hex of a digest or MAC.
    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits: [Character] = Array("0123456789abcdef")
        var text = ""
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return text
    }

    /// The host (and port, when given) of `url`, as curl sends it in `Host`.
    static func authority(of url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return url }
        let rest = url[schemeEnd.upperBound...]
        return String(rest.prefix { $0 != "/" && $0 != "?" })
    }
}
