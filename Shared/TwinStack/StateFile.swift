#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A small JSON state file that survives restarts: a generator's threshold, its sensor's id.
///
/// Writes go to a temporary file in the same folder that is then renamed over the old one, so a crash
/// mid-write leaves the previous state, never half a file.
public struct StateFile<Value: Codable & Sendable>: Sendable {
    /// The file's location.
    public let url: URL

    /// The state file `name` in `directory`, which is created when missing.
    public init(directory: URL, name: String = "state.json") {
        self.url = directory.appendingPathComponent(name)
    }

    /// The stored value, or nil when there is none yet. Throws when the file exists but is unreadable.
    public func load() throws -> Value? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        return try JSONDecoder().decode(Value.self, from: Data(contentsOf: url))
    }

    /// Stores `value` atomically.
    public func save(_ value: Value) throws {
        try FileManager.default.createDirectory(
            at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(value).write(to: url, options: .atomic)
    }
}
