import DTPModel
import Foundation

/// What registering one twin did.
enum TwinResult: String, Sendable, Hashable {
    case created, updated, unchanged, deprecated
    /// The registry refused it (4xx); the file's failure says why.
    case refused
    /// Not written: the registry was unavailable, so it stays queued.
    case queued
}

/// The answer of `POST /scan` and the table of `--once`.
struct ScanSummary: Sendable {
    /// Twin files seen.
    var files = 0
    /// Twins created or updated.
    var registered = 0
    /// Twins the registry already held as the files define them.
    var unchanged = 0
    /// Files that could not be read or that the registry refused.
    var failed: [FileFailure] = []
    /// Twins soft-deleted because their files are gone.
    var deprecated = 0
    /// Changes still waiting for the registry.
    var queued = 0
    var durationMS = 0
    /// Why the registry could not take the changes, when it could not.
    var registryError: String?
    /// Each file's relative path, its twin id and what happened, for the table.
    var rows: [(file: String, twin: String, result: String)] = []

    var jsonValue: JSONValue {
        var object: [String: JSONValue] = [
            "files": .int(files), "registered": .int(registered), "unchanged": .int(unchanged),
            "failed": .array(failed.map(\.jsonValue)), "deprecated": .int(deprecated), "queued": .int(queued),
            "duration_ms": .int(durationMS),
        ]
        if let registryError { object["registry_error"] = .string(registryError) }
        return .object(object)
    }

    /// The summary table `--once` prints.
    var table: String {
        let header = (file: "FILE", twin: "TWIN", result: "RESULT")
        let all = [header] + rows
        let fileWidth = all.map(\.file.count).max() ?? 4
        let twinWidth = all.map(\.twin.count).max() ?? 4
        func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
        var lines = all.map { "\(pad($0.file, fileWidth))  \(pad($0.twin, twinWidth))  \($0.result)" }
        lines.append(
            "files \(files), registered \(registered), unchanged \(unchanged), failed \(failed.count), "
                + "deprecated \(deprecated), queued \(queued), \(durationMS) ms")
        if let registryError { lines.append("registry unavailable: \(registryError)") }
        return lines.joined(separator: "\n")
    }
}
