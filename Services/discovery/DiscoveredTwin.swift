import DTPModel
import Foundation

/// A twin as one file defines it, normalised the way the earlier system did: only what the file says,
/// never the fields that API users added.
struct DiscoveredTwin: Sendable, Hashable {
    var id: String
    var tenant: String
    /// The file's metadata (with `name` copied in), without `source`.
    var metadata: [String: JSONValue]
    var interfaces: TwinInterfaces
    var dependencies: TwinDependencies
    /// `file:<path relative to its twins root>`.
    var source: String
}

/// Why a twin file could not be read, for the log, `/status` and the scan summary.
struct FileFailure: Sendable, Hashable, Codable {
    /// The file's path relative to its twins root.
    var file: String
    /// The line of the problem, when known.
    var line: Int?
    /// What is wrong, naming the field where there is one.
    var reason: String

    var jsonValue: JSONValue {
        ["file": .string(file), "line": line.map { JSONValue.int($0) } ?? .null, "reason": .string(reason)]
    }
}

/// What reading one twin file gave.
enum FileOutcome: Sendable, Hashable {
    case twin(DiscoveredTwin)
    case failed(FileFailure)
}

/// A twin file found on disk: where it is and what it holds.
struct ObservedFile: Sendable, Hashable {
    /// The absolute path (through symlinked folders, as found).
    var path: String
    /// The path relative to its twins root.
    var relative: String
    var outcome: FileOutcome
}
