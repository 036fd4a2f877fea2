import DTPModel
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A folder's identity on disk, so that a folder reached twice (through a symlink) is visited once and a
/// symlink loop ends.
struct FileIdentity: Hashable, Sendable {
    var device: UInt64
    var inode: UInt64
}

/// Walks twins roots: every call blocks on the file system, so callers run it on ``BlockingIO``.
enum TwinTree {
    /// The identity of the folder at `path` (following symlinks), or nil when it is not a folder.
    static func folderIdentity(_ path: String) -> FileIdentity? {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { return nil }
        return FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// Whether `path` is a regular file (following symlinks).
    static func isFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFREG
    }

    /// The twin spec files directly inside `folder`, in the codec's order of preference.
    static func specFiles(in folder: String) -> [String] {
        TwinSpecCodec.specFileNames.map { folder + "/" + $0 }.filter(isFile)
    }

    /// Whether a folder entry is skipped: hidden folders (`.git`, editors' state) hold no twins.
    static func isSkipped(_ name: String) -> Bool { name.hasPrefix(".") }

    /// `root` and every folder below it, symlinked folders followed, each folder once (by device and
    /// inode), so a symlink loop ends. Paths go through the symlinks as found.
    static func folders(under root: String) -> [String] {
        var visited: Set<FileIdentity> = []
        var result: [String] = []
        var stack = [root]
        while let folder = stack.popLast() {
            guard let identity = folderIdentity(folder), visited.insert(identity).inserted else { continue }
            result.append(folder)
            for name in subfolderCandidates(of: folder) { stack.append(folder + "/" + name) }
        }
        return result
    }

    /// The entries of `folder` that are, or may be (symlinks, unknown types), folders.
    static func subfolderCandidates(of folder: String) -> [String] {
        guard let directory = opendir(folder) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let type = entry.pointee.d_type
            guard type == UInt8(DT_DIR) || type == UInt8(DT_LNK) || type == UInt8(DT_UNKNOWN) else { continue }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { bytes in
                String(decoding: bytes.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name == "." || name == ".." || isSkipped(name) { continue }
            names.append(name)
        }
        return names
    }
}

/// Where discovery runs blocking file-system work: its own dispatch queue, never Swift's cooperative pool.
enum BlockingIO {
    private static let queue = DispatchQueue(label: "dtp.discovery.io", attributes: .concurrent)

    /// Runs `body` on the I/O queue and returns its result.
    static func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: body()) }
        }
    }
}
