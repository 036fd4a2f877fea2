import Crypto
import DTPServiceKit
import Foundation
import Hummingbird

/// Reads an artifact's request body chunk by chunk for the S3 upload, hashing and counting it on the way.
///
/// The upload pulls one chunk at a time (``next()``), so the client is read only as fast as S3 accepts
/// bytes: the body is never held in memory whole. An actor owns the body's iterator, which is not
/// `Sendable`, and the pull is strictly sequential.
actor ArtifactBodyReader {
    private var iterator: RequestBody.AsyncIterator?
    private var hasher = SHA256()
    private let expected: Int64
    /// Bytes read so far.
    private(set) var size: Int64 = 0

    init(body: RequestBody, expectedLength: Int64) {
        iterator = body.makeAsyncIterator()
        expected = expectedLength
    }

    /// The next chunk, or nil at the end of the body.
    func next() async throws -> Data? {
        guard var iterator else { return nil }
        self.iterator = nil
        guard let buffer = try await iterator.next(isolation: self) else { return nil }
        self.iterator = iterator
        size += Int64(buffer.readableBytes)
        guard size <= expected else { throw APIError.badRequest("the body is longer than its Content-Length") }
        buffer.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
        return Data(buffer.readableBytesView)
    }

    /// The lowercase hex SHA-256 of everything read.
    func sha256() -> String {
        hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
