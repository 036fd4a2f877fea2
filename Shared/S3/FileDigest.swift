import Crypto
import Foundation

/// SHA-256 of a file, computed on a thread of its own: the reads block, and blocking calls stay off
/// Swift's cooperative pool.
enum FileDigest {
    static func sha256(ofFileAt path: String) async throws -> (hash: SHA256.Digest, size: Int64) {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try digest(path) })
            }
            thread.name = "dtp.s3.digest"
            thread.start()
        }
    }

    private static func digest(_ path: String) throws -> (hash: SHA256.Digest, size: Int64) {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw S3Error.localFile.with(message: "cannot open \(path)")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        var size: Int64 = 0
        while true {
            let chunk: Data?
            do {
                chunk = try handle.read(upToCount: 1 << 20)
            } catch {
                throw S3Error.localFile.with(message: "cannot read \(path): \(error.localizedDescription)")
            }
            guard let chunk, !chunk.isEmpty else { break }
            hasher.update(data: chunk)
            size += Int64(chunk.count)
        }
        return (hasher.finalize(), size)
    }
}
