import DTPS3
import Foundation
import Logging
import Synchronization

/// The S3 bucket that holds artifact blobs, with the bucket created on first use.
///
/// The bucket is not created at start-up: the registry must start (and serve twins) while S3 is down,
/// so the first artifact request creates it instead, and a failure there is retried by the next request.
final class ArtifactStorage: Sendable {
    let s3: S3Client
    let maxBytes: Int
    /// How long a presigned GET URL stays valid.
    let presignedLifetime: Duration
    private let bucketReady = Mutex(false)

    init(s3: S3Client, maxBytes: Int, presignedLifetime: Duration = .seconds(900)) {
        self.s3 = s3
        self.maxBytes = maxBytes
        self.presignedLifetime = presignedLifetime
    }

    var bucket: String { s3.configuration.bucket }

    /// Creates the bucket unless a request of this process already saw it exist.
    func ensureBucket() async throws {
        if bucketReady.withLock({ $0 }) { return }
        try await s3.createBucketIfMissing()
        bucketReady.withLock { $0 = true }
    }

    /// The object key of an artifact, `<tenant>/<twin id>/<name>`: built here, never taken from the client.
    /// `name` is already validated (``ArtifactController/validate(name:)``); the tenant is free text and a
    /// twin id may be `..`, so both are escaped to one plain path segment each: a key can never climb out
    /// of its prefix, even through an HTTP client that resolves dot segments.
    static func key(tenant: String, twin: String, name: String) -> String {
        "\(segment(tenant))/\(segment(twin))/\(name)"
    }

    static func segment(_ text: String) -> String {
        var allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        allowed.insert(charactersIn: ":._-")
        let escaped = text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
        // A lone `%` is never the output of percent-encoding, so the empty segment cannot collide.
        if escaped.isEmpty { return "%" }
        if escaped.allSatisfy({ $0 == "." }) { return escaped.replacingOccurrences(of: ".", with: "%2E") }
        return escaped
    }
}
