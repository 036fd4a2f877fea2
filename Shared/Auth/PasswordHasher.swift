import CCrypt
import Dispatch
import Foundation
import Synchronization

/// bcrypt password hashes through libxcrypt (`crypt_gensalt_rn` / `crypt_rn`, prefix `$2b$`).
///
/// bcrypt is deliberately slow (about 50–100 ms at cost 10), so hashing never runs on an event loop or
/// Swift's cooperative pool: every call goes to one of a fixed number of serial dispatch queues (at most
/// that many threads hash at once), and the caller awaits the result. A burst of logins therefore queues
/// behind the hashers instead of stalling every other request.
public final class PasswordHasher: Sendable {
    /// The bcrypt cost factor (log2 of the rounds) of new hashes: 10 at least.
    public let cost: Int
    private let queues: [DispatchQueue]
    private let next = Atomic<Int>(0)
    /// A hash of a random password, verified against when a user does not exist, so that a login for an
    /// unknown user takes as long as one with a wrong password.
    private let decoy: Mutex<String?> = Mutex(nil)

    /// Why hashing failed.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        /// What went wrong, never with the password.
        public let description: String
    }

    /// A hasher with `cost` (clamped to 10...31) and `threads` hashing threads (the core count by default).
    public init(cost: Int = 10, threads: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.cost = min(max(cost, 10), 31)
        queues = (0..<max(1, threads)).map { DispatchQueue(label: "dtp.bcrypt.\($0)", qos: .userInitiated) }
    }

    /// A new `$2b$` hash of `password` with a fresh random salt.
    public func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await run { try Self.hashNow(password, cost: cost) }
    }

    /// Whether `password` matches `hash`; false for malformed hashes. The comparison of the two hash
    /// strings takes the same time wherever they differ.
    public func verify(_ password: String, against hash: String) async -> Bool {
        (try? await run { Self.verifyNow(password, against: hash) }) ?? false
    }

    /// Spends the time of one verification without a user, to keep unknown usernames from answering faster.
    public func verifyDecoy(_ password: String) async {
        let existing = decoy.withLock { $0 }
        let hash: String
        if let existing {
            hash = existing
        } else {
            hash = (try? await self.hash(UUID().uuidString)) ?? ""
            decoy.withLock { $0 = hash }
        }
        _ = await verify(password, against: hash)
    }

    private func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
        let queue = queues[abs(index % queues.count)]
        return try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try work() }) }
        }
    }

    /// Hashes on the calling thread: blocks for the whole bcrypt computation.
    static func hashNow(_ password: String, cost: Int) throws -> String {
        var setting = [CChar](repeating: 0, count: Int(CRYPT_GENSALT_OUTPUT_SIZE))
        guard crypt_gensalt_rn("$2b$", UInt(cost), nil, 0, &setting, Int32(setting.count)) != nil else {
            throw Failure(description: "crypt_gensalt_rn failed (errno \(errno))")
        }
        guard let hashed = cryptNow(password, setting: setting), hashed.hasPrefix("$2b$") else {
            throw Failure(description: "crypt_rn failed (errno \(errno))")
        }
        return hashed
    }

    /// Verifies on the calling thread.
    static func verifyNow(_ password: String, against hash: String) -> Bool {
        guard hash.hasPrefix("$2"), let computed = cryptNow(password, setting: Array(hash.utf8CString)) else {
            return false
        }
        return constantTimeEqual(Array(computed.utf8), Array(hash.utf8))
    }

    private static func cryptNow(_ password: String, setting: [CChar]) -> String? {
        // bcrypt reads at most 72 bytes; refuse NULs, which would cut the password short in C.
        guard !password.utf8.contains(0) else { return nil }
        var data = crypt_data()
        let size = Int32(MemoryLayout<crypt_data>.size)
        return withUnsafeMutableBytes(of: &data) { raw -> String? in
            let pointer = raw.baseAddress!.assumingMemoryBound(to: crypt_data.self)
            guard let result = crypt_rn(password, setting, pointer, size) else { return nil }
            let text = String(cString: result)
            // libxcrypt signals failure with a string starting with '*'.
            return text.hasPrefix("*") ? nil : text
        }
    }

    /// Compares two byte strings in time that depends only on their lengths.
    public static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in 0..<lhs.count { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }
}
