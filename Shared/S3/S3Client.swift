import Crypto
import DTPHTTP
import Foundation
import Logging

/// An S3 client over the shared libcurl ``HTTPClient``, signing with AWS Signature Version 4. It works
/// with AWS, MinIO and moto, path-style or virtual-hosted.
///
/// ```swift
/// let s3 = S3Client(configuration: config, httpClient: http)
/// try await s3.createBucketIfMissing()
/// try await s3.putObject(Data("hi".utf8), key: "notes/hello.txt", contentType: "text/plain")
/// let bytes = try await s3.getObject(key: "notes/hello.txt")
/// ```
///
/// The client is a value over the HTTP client, which it does not own. Every operation works in
/// ``S3Configuration/bucket``; ``with(bucket:)`` gives a client for another bucket.
public struct S3Client: Sendable {
    /// The settings the client was made with.
    public let configuration: S3Configuration
    let http: HTTPClient
    let signer: SigV4Signer
    let logger: Logger

    /// A client for the server and bucket `configuration` names, sending through `httpClient`.
    public init(configuration: S3Configuration, httpClient: HTTPClient, logger: Logger = Logger(label: "dtp.s3")) {
        self.configuration = configuration
        self.http = httpClient
        self.logger = logger
        signer = SigV4Signer(
            accessKey: configuration.accessKey, secretKey: configuration.secretKey, region: configuration.region,
            service: "s3")
    }

    /// The same client working in `bucket`.
    public func with(bucket: String) -> S3Client {
        var configuration = configuration
        configuration.bucket = bucket
        return S3Client(configuration: configuration, httpClient: http, logger: logger)
    }

    // MARK: Addressing and signing

    /// The scheme and authority to send to, and the decoded path, for the bucket or one of its keys.
    func location(key: String?) -> (base: String, path: String) {
        let bucket = configuration.bucket
        switch configuration.addressing {
        case .path:
            return (configuration.endpoint, "/" + bucket + (key.map { "/" + $0 } ?? ""))
        case .virtual:
            let endpoint = configuration.endpoint
            guard let schemeEnd = endpoint.range(of: "://") else { return (endpoint, "/" + (key ?? "")) }
            let base = endpoint[..<schemeEnd.upperBound] + bucket + "." + endpoint[schemeEnd.upperBound...]
            return (String(base), "/" + (key ?? ""))
        }
    }

    /// A signed request for the bucket (`key` nil) or an object.
    func request(
        _ method: HTTPMethod, key: String?, query: [(String, String)] = [], headers extra: [(String, String)] = [],
        payloadHash: String = SigV4Signer.emptyPayloadHash, body: Data? = nil, upload: HTTPUpload? = nil,
        date: Date = Date()
    ) -> HTTPRequest {
        let (base, path) = location(key: key)
        let amzDate = SigV4Signer.timestamps(date).amzDate
        var signed: [(String, String)] = [
            ("host", SigV4Signer.authority(of: base)), ("x-amz-date", amzDate), ("x-amz-content-sha256", payloadHash),
        ]
        signed.append(contentsOf: extra)
        let signature = signer.sign(
            method: method.rawValue, path: path, query: query, headers: signed, payloadHash: payloadHash, date: date)
        var headers = HTTPHeaders(signed.filter { $0.0 != "host" })
        headers.add(name: "Authorization", value: signature.authorization)
        var url = base + SigV4Signer.encodePath(path)
        if !query.isEmpty { url += "?" + SigV4Signer.canonicalQuery(query) }
        return HTTPRequest(
            method: method, url: url, headers: headers, body: body, timeout: .after(configuration.requestTimeout),
            upload: upload)
    }

    /// Sends `request`; a missing answer becomes ``S3Error/unavailable`` with the HTTP client's message.
    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        do {
            return try await http.execute(request)
        } catch let error as HTTPClientError {
            throw unavailable(error)
        }
    }

    func unavailable(_ error: HTTPClientError) -> any Error {
        if error == .cancelled { return CancellationError() }
        return S3Error.unavailable.with(message: "cannot reach \(configuration.endpoint): \(error.message)")
    }

    /// The error for a non-2xx answer: S3's XML error if there is one, else one derived from the status.
    func failure(status: Int, body: Data, headers: HTTPHeaders, key: String?) -> S3Error {
        let requestID = headers.first(name: "x-amz-request-id")
        if let parsed = S3ErrorBody(body) {
            return S3Error.kind(code: parsed.code, status: status).with(
                code: parsed.code, message: parsed.message ?? "HTTP status \(status)",
                requestID: parsed.requestID ?? requestID, status: status,
                resource: parsed.resource ?? resourceName(key))
        }
        let resource = resourceName(key)
        switch status {
        case 404 where key == nil:
            return S3Error.noSuchBucket.with(
                code: "NoSuchBucket", message: "the bucket does not exist", requestID: requestID, status: status,
                resource: resource)
        case 404:
            return S3Error.noSuchKey.with(
                code: "NotFound", message: "the object does not exist", requestID: requestID, status: status,
                resource: resource)
        default:
            let text = String(decoding: body.prefix(500), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return S3Error.kind(code: nil, status: status).with(
                message: text.isEmpty ? "HTTP status \(status)" : text, requestID: requestID, status: status,
                resource: resource)
        }
    }

    func failure(_ response: HTTPResponse, key: String?) -> S3Error {
        failure(status: response.status, body: response.body, headers: response.headers, key: key)
    }

    private func resourceName(_ key: String?) -> String {
        configuration.bucket + (key.map { "/" + $0 } ?? "")
    }

    // MARK: Buckets

    /// Checks that the bucket exists and the credentials may use it (for health and wiring checks).
    public func headBucket() async throws -> S3BucketInfo {
        let response = try await send(request(.head, key: nil))
        guard response.isSuccess else { throw failure(response, key: nil) }
        return S3BucketInfo(
            region: response.headers.first(name: "x-amz-bucket-region"), server: response.headers.first(name: "Server"))
    }

    /// Creates the bucket unless it exists; returns whether it created it.
    @discardableResult
    public func createBucketIfMissing() async throws -> Bool {
        do {
            _ = try await headBucket()
            return false
        } catch let error as S3Error where error == .noSuchBucket {
            return try await createBucket()
        }
    }

    /// Creates the bucket; returns false when this account already owns it.
    @discardableResult
    public func createBucket() async throws -> Bool {
        var body: Data?
        var payloadHash = SigV4Signer.emptyPayloadHash
        if configuration.region != "us-east-1" {
            // Outside us-east-1, AWS wants the region named in the body.
            let xml =
                "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                + "<LocationConstraint>\(configuration.region)</LocationConstraint></CreateBucketConfiguration>"
            body = Data(xml.utf8)
            payloadHash = SigV4Signer.hex(SHA256.hash(data: body!))
        }
        let response = try await send(request(.put, key: nil, payloadHash: payloadHash, body: body))
        if response.isSuccess { return true }
        let error = failure(response, key: nil)
        if error.code == "BucketAlreadyOwnedByYou" { return false }
        throw error
    }

    /// Deletes the bucket, which must be empty.
    public func deleteBucket() async throws {
        let response = try await send(request(.delete, key: nil))
        guard response.isSuccess else { throw failure(response, key: nil) }
    }

    // MARK: Objects

    /// Stores `data` under `key`, signed with its SHA-256 (which the server checks) and sending the same
    /// checksum as `x-amz-checksum-sha256`, so S3 stores it with the object.
    @discardableResult
    public func putObject(
        _ data: Data, key: String, contentType: String = "application/octet-stream", metadata: [String: String] = [:]
    ) async throws -> S3PutResult {
        let digest = SHA256.hash(data: data)
        let upload = HTTPUpload.stream(length: Int64(data.count)) {
            AsyncThrowingStream { continuation in
                // Slices share the buffer: nothing is copied until curl reads it.
                var offset = 0
                while offset < data.count {
                    let end = min(offset + 256 * 1024, data.count)
                    continuation.yield(data[(data.startIndex + offset)..<(data.startIndex + end)])
                    offset = end
                }
                continuation.finish()
            }
        }
        return try await put(
            key: key, upload: upload, sha256: SigV4Signer.hex(digest),
            checksum: Data(digest).base64EncodedString(), contentType: contentType, metadata: metadata)
    }

    /// Streams the file at `path` to `key`. The file is read twice: once (on a thread of its own) for its
    /// SHA-256, which signs the request, and once while sending; it must not change in between.
    @discardableResult
    public func putObject(
        fileAt path: String, key: String, contentType: String = "application/octet-stream",
        metadata: [String: String] = [:]
    ) async throws -> S3PutResult {
        let digest = try await FileDigest.sha256(ofFileAt: path)
        let upload: HTTPUpload
        do {
            upload = try HTTPUpload.file(atPath: path)
        } catch {
            throw S3Error.localFile.with(message: "cannot read \(path): \(error.localizedDescription)")
        }
        guard upload.length == digest.size else {
            throw S3Error.localFile.with(message: "\(path) changed while it was being hashed")
        }
        return try await put(
            key: key, upload: upload, sha256: SigV4Signer.hex(digest.hash),
            checksum: Data(digest.hash).base64EncodedString(), contentType: contentType, metadata: metadata)
    }

    /// Streams `length` bytes from the stream that `makeStream` returns to `key`. With `sha256` (lowercase
    /// hex of the whole body) the payload is signed and checked by the server; without it the request says
    /// `UNSIGNED-PAYLOAD`, for producers that cannot know the hash up front.
    @discardableResult
    public func putObject(
        key: String, length: Int64, sha256: String?, contentType: String = "application/octet-stream",
        metadata: [String: String] = [:], from makeStream: @escaping @Sendable () -> AsyncThrowingStream<Data, any Error>
    ) async throws -> S3PutResult {
        let checksum = sha256.flatMap(Self.bytes(hex:)).map { Data($0).base64EncodedString() }
        return try await put(
            key: key, upload: .stream(length: length, makeStream), sha256: sha256, checksum: checksum,
            contentType: contentType, metadata: metadata)
    }

    private func put(
        key: String, upload: HTTPUpload, sha256: String?, checksum: String?, contentType: String,
        metadata: [String: String]
    ) async throws -> S3PutResult {
        var headers: [(String, String)] = [("content-type", contentType)]
        if let checksum {
            // As AWS's SDKs send it: the algorithm, so that the server stores the checksum with the object.
            headers.append(("x-amz-checksum-sha256", checksum))
            headers.append(("x-amz-sdk-checksum-algorithm", "SHA256"))
        }
        for (name, value) in metadata.sorted(by: { $0.key < $1.key }) {
            headers.append(("x-amz-meta-" + name.lowercased(), value))
        }
        let response = try await send(
            request(.put, key: key, headers: headers, payloadHash: sha256 ?? SigV4Signer.unsignedPayload, upload: upload))
        guard response.isSuccess else { throw failure(response, key: key) }
        return S3PutResult(etag: response.headers.first(name: "ETag")?.trimmingCharacters(in: ["\""]), sha256: sha256)
    }

    /// The whole object, read into memory; for large objects prefer ``getObject(key:range:_:)``.
    public func getObject(key: String) async throws -> Data {
        try await getObject(key: key) { _, body in
            var data = Data()
            for try await chunk in body { data.append(chunk) }
            return data
        }
    }

    /// Streams the object (or the inclusive byte `range` of it) to `handler` as it arrives; the transfer
    /// is cancelled if the handler returns before the end.
    public func getObject<Result: Sendable>(
        key: String, range: ClosedRange<Int64>? = nil,
        _ handler: (S3ObjectInfo, HTTPResponseBody) async throws -> Result
    ) async throws -> Result {
        var headers: [(String, String)] = []
        if let range { headers.append(("range", "bytes=\(range.lowerBound)-\(range.upperBound)")) }
        let request = request(.get, key: key, headers: headers)
        do {
            return try await http.stream(request) { response in
                guard response.isSuccess else {
                    let collected = try await response.collect(upTo: 1 << 20)
                    throw failure(collected, key: key)
                }
                return try await handler(Self.info(response.headers), response.body)
            }
        } catch let error as HTTPClientError {
            throw unavailable(error)
        }
    }

    /// The object's size, entity tag, type, checksum and metadata; ``S3Error/noSuchKey`` when it is absent.
    public func headObject(key: String) async throws -> S3ObjectInfo {
        let response = try await send(request(.head, key: key, headers: [("x-amz-checksum-mode", "ENABLED")]))
        guard response.isSuccess else { throw failure(response, key: key) }
        return Self.info(response.headers)
    }

    /// Deletes the object; deleting an absent key succeeds, as in S3.
    public func deleteObject(key: String) async throws {
        let response = try await send(request(.delete, key: key))
        guard response.isSuccess else { throw failure(response, key: key) }
    }

    /// A GET URL for `key` that works without credentials until `expires` has passed (at most 7 days).
    public func presignedGetURL(key: String, expires: Duration = .seconds(3600), date: Date = Date()) -> String {
        let (base, path) = location(key: key)
        return signer.presign(method: "GET", baseURL: base, path: path, expires: expires, date: date).url
    }

    static func info(_ headers: HTTPHeaders) -> S3ObjectInfo {
        var metadata: [String: String] = [:]
        for (name, value) in headers where name.lowercased().hasPrefix("x-amz-meta-") {
            metadata[String(name.lowercased().dropFirst("x-amz-meta-".count))] = value
        }
        return S3ObjectInfo(
            contentLength: headers.first(name: "Content-Length").flatMap { Int64($0) },
            etag: headers.first(name: "ETag")?.trimmingCharacters(in: ["\""]),
            contentType: headers.first(name: "Content-Type"),
            checksumSHA256: headers.first(name: "x-amz-checksum-sha256"), metadata: metadata)
    }

    static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = Self.nibble(digits[index]), let low = Self.nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
