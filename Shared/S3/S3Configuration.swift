import Foundation

/// Where the S3 server is, which credentials sign requests, and which bucket the client uses.
///
/// Works with AWS, MinIO and moto. Its description never shows the secret key.
public struct S3Configuration: Sendable, CustomStringConvertible {
    /// How bucket names are put into URLs.
    public enum Addressing: String, Sendable {
        /// `https://endpoint/bucket/key`: MinIO, moto and other custom endpoints.
        case path
        /// `https://bucket.endpoint/key`: AWS's default; needs DNS for every bucket name.
        case virtual
    }

    /// The server's base URL, e.g. `http://127.0.0.1:9000` or `https://s3.eu-west-1.amazonaws.com`.
    public var endpoint: String
    /// The access key id.
    public var accessKey: String
    /// The secret access key.
    public var secretKey: String
    /// The bucket the client works in.
    public var bucket: String
    /// The signing region.
    public var region: String
    /// Path-style or virtual-hosted URLs.
    public var addressing: Addressing
    /// How long one request may take (large objects need long ones).
    public var requestTimeout: Duration

    /// A configuration; `addressing` defaults to ``Addressing/path`` except for `amazonaws.com` endpoints.
    public init(
        endpoint: String, accessKey: String, secretKey: String, bucket: String = "dtp-artifacts",
        region: String = "us-east-1", addressing: Addressing? = nil, requestTimeout: Duration = .seconds(300)
    ) {
        let trimmed = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        self.endpoint = trimmed
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.bucket = bucket
        self.region = region
        self.addressing = addressing ?? (trimmed.contains(".amazonaws.com") ? .virtual : .path)
        self.requestTimeout = requestTimeout
    }

    /// Reads `MINIO_ENDPOINT`, `MINIO_ACCESS_KEY`, `MINIO_SECRET_KEY`, `MINIO_BUCKET` (default
    /// `dtp-artifacts`), `S3_REGION` (default `us-east-1`) and `S3_ADDRESSING` (`path` or `virtual`;
    /// default path, virtual for `amazonaws.com`). An endpoint without a scheme gets `http://`.
    ///
    /// Returns nil when `MINIO_ENDPOINT` is not set; throws ``S3Error/configuration`` naming every missing
    /// or malformed variable otherwise.
    public init?(environment: [String: String] = ProcessInfo.processInfo.environment) throws(S3Error) {
        func value(_ key: String) -> String? {
            guard let text = environment[key]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
            return text
        }
        guard var endpoint = value("MINIO_ENDPOINT") else { return nil }
        if !endpoint.contains("://") { endpoint = "http://" + endpoint }
        var problems: [String] = []
        if URL(string: endpoint)?.host == nil { problems.append("MINIO_ENDPOINT must be a URL or host:port") }
        if value("MINIO_ACCESS_KEY") == nil { problems.append("MINIO_ACCESS_KEY is required") }
        if value("MINIO_SECRET_KEY") == nil { problems.append("MINIO_SECRET_KEY is required") }
        var addressing: Addressing?
        if let text = value("S3_ADDRESSING") {
            addressing = Addressing(rawValue: text.lowercased())
            if addressing == nil { problems.append("S3_ADDRESSING must be path or virtual") }
        }
        guard problems.isEmpty else { throw S3Error.configuration.with(message: problems.joined(separator: "; ")) }
        self.init(
            endpoint: endpoint, accessKey: value("MINIO_ACCESS_KEY")!, secretKey: value("MINIO_SECRET_KEY")!,
            bucket: value("MINIO_BUCKET") ?? "dtp-artifacts", region: value("S3_REGION") ?? "us-east-1",
            addressing: addressing)
    }

    /// The settings with the secret key redacted.
    public var description: String {
        "S3Configuration(endpoint: \(endpoint), bucket: \(bucket), region: \(region), addressing: \(addressing.rawValue), "
            + "accessKey: \(accessKey), secretKey: <redacted>)"
    }
}
