import Foundation

/// An object as a listing describes it.
public struct S3Object: Sendable, Hashable {
    /// The key.
    public var key: String
    /// The size in bytes.
    public var size: Int64
    /// The entity tag, without quotes.
    public var etag: String?
    /// When it was last written, as S3 wrote it (ISO 8601).
    public var lastModified: String?
}

/// One page of `ListObjectsV2`.
public struct S3ListPage: Sendable {
    /// The objects of this page, in key order.
    public var objects: [S3Object]
    /// The common prefixes, when listed with a delimiter.
    public var commonPrefixes: [String]
    /// Where the next page starts; nil on the last page.
    public var nextContinuationToken: String?
    /// Whether more pages follow.
    public var isTruncated: Bool

    init?(xml data: Data) {
        guard let events = S3XMLReader.read(data) else { return nil }
        objects = []
        commonPrefixes = []
        isTruncated = false
        var current: S3Object?
        for event in events {
            switch event {
            case .start("ListBucketResult/Contents"):
                if let current { objects.append(current) }
                current = S3Object(key: "", size: 0)
            case .start:
                break
            case .leaf(let path, let text):
                switch path {
                case "ListBucketResult/Contents/Key": current?.key = text
                case "ListBucketResult/Contents/Size": current?.size = Int64(text) ?? 0
                case "ListBucketResult/Contents/ETag": current?.etag = text.trimmingCharacters(in: ["\""])
                case "ListBucketResult/Contents/LastModified": current?.lastModified = text
                case "ListBucketResult/CommonPrefixes/Prefix": commonPrefixes.append(text)
                case "ListBucketResult/NextContinuationToken": nextContinuationToken = text
                case "ListBucketResult/IsTruncated": isTruncated = text == "true"
                default: break
                }
            }
        }
        if let current { objects.append(current) }
    }
}

/// What a HEAD or GET says about an object.
public struct S3ObjectInfo: Sendable {
    /// The size in bytes.
    public var contentLength: Int64?
    /// The entity tag, without quotes.
    public var etag: String?
    /// The content type it was stored with.
    public var contentType: String?
    /// The stored SHA-256 checksum (base64), when the server keeps one and was asked for it.
    public var checksumSHA256: String?
    /// `x-amz-meta-*` headers, names without the prefix, lowercase.
    public var metadata: [String: String]
}

/// What a successful put returns.
public struct S3PutResult: Sendable {
    /// The entity tag, without quotes.
    public var etag: String?
    /// The SHA-256 of the body that was sent and signed, lowercase hex; nil for unsigned payloads.
    public var sha256: String?
}

/// What a bucket HEAD says, for health and wiring checks.
public struct S3BucketInfo: Sendable {
    /// The bucket's region, when the server says (`x-amz-bucket-region`).
    public var region: String?
    /// The server's `Server` header, e.g. `MinIO` or `AmazonS3`.
    public var server: String?
}
