import Foundation
import Synchronization

/// What a change asks discovery to read again.
enum ScanScope: Hashable, Sendable {
    /// The twin files directly inside a folder (a twin or compose file changed there).
    case folder(String)
    /// A folder and everything below it (a folder appeared, vanished or moved; a rescan).
    case tree(String)

    var path: String {
        switch self {
        case .folder(let path), .tree(let path): path
        }
    }

    /// Whether the file at `path` lies inside this scope.
    func contains(file path: String) -> Bool {
        switch self {
        case .folder(let folder): (path as NSString).deletingLastPathComponent == folder
        case .tree(let root): path.hasPrefix(root + "/")
        }
    }
}

/// Reads the twin files inside scopes, in parallel over the I/O queue's threads.
struct TwinScanner: Sendable {
    let roots: [String]
    let reader = TwinFileReader()

    /// Every twin file inside `scopes`, read and normalised. Blocks: run it on ``BlockingIO``.
    func observe(_ scopes: [ScanScope]) -> [ObservedFile] {
        var paths: [String] = []
        var seen: Set<String> = []
        for scope in scopes {
            let folders: [String]
            switch scope {
            case .folder(let folder): folders = [folder]
            case .tree(let root): folders = TwinTree.folders(under: root)
            }
            for folder in folders {
                for file in TwinTree.specFiles(in: folder) where seen.insert(file).inserted { paths.append(file) }
            }
        }
        let files = paths
        let results = Mutex([ObservedFile?](repeating: nil, count: files.count))
        DispatchQueue.concurrentPerform(iterations: files.count) { index in
            let path = files[index]
            let relative = relativePath(of: path)
            let observed = ObservedFile(path: path, relative: relative, outcome: reader.read(path: path, relative: relative))
            results.withLock { $0[index] = observed }
        }
        return results.withLock { $0.compactMap { $0 } }
    }

    /// `path` relative to the twins root that holds it (the longest matching root).
    func relativePath(of path: String) -> String {
        let root = roots.filter { path.hasPrefix($0 + "/") }.max { $0.count < $1.count }
        guard let root else { return path }
        return String(path.dropFirst(root.count + 1))
    }
}
