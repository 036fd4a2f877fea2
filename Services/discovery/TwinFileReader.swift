import DTPModel
import Foundation

/// Reads twin files with the shared codec and completes them as the earlier system did.
///
/// Every call does blocking file I/O: callers run it on ``BlockingIO``, never on the cooperative pool.
struct TwinFileReader: Sendable {
    /// The compose files that may give a twin folder its API URL, in order of preference.
    static let composeFileNames = ["compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"]

    /// Id from the folder name, tenant `demo` and `metadata.name` from `name`; no default status, so that a
    /// file without one never overwrites the status the registry or a user gave the twin.
    private let codec = TwinSpecCodec(normalization: TwinSpecNormalization(defaultStatus: nil))

    /// Reads the twin file at `path` (`relative` names it in errors and in `metadata.source`).
    func read(path: String, relative: String) -> FileOutcome {
        let spec: TwinSpec
        do {
            spec = try codec.read(contentsOf: URL(fileURLWithPath: path))
        } catch let error as TwinSpecError {
            return .failed(FileFailure(file: relative, line: error.line, reason: error.message))
        } catch let error as TwinValidationError {
            return .failed(FileFailure(file: relative, line: error.line, reason: "\(error.field): \(error.message)"))
        } catch {
            return .failed(FileFailure(file: relative, line: nil, reason: "\(error)"))
        }
        guard let id = spec.id else {
            return .failed(FileFailure(file: relative, line: nil, reason: "@id: missing and no folder name to use"))
        }
        var interfaces = spec.interfaces
        if interfaces.api == nil {
            interfaces.api = inferredAPI(folder: (path as NSString).deletingLastPathComponent)
        }
        return .twin(
            DiscoveredTwin(
                id: id, tenant: spec.tenant ?? "demo", metadata: spec.metadata, interfaces: interfaces,
                dependencies: spec.dependencies, source: "file:\(relative)"))
    }

    /// `http://localhost:<port>` of the folder's compose `ui` service, or nil. A broken compose file
    /// infers nothing; it is not the twin file's fault.
    func inferredAPI(folder: String) -> String? {
        for name in Self.composeFileNames {
            let path = folder + "/" + name
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            return try? ComposeFile.inferredAPI(in: data, file: name)
        }
        return nil
    }
}
