import DTPModel
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Watches twins roots recursively with inotify and hands out debounced batches of ``ScanScope``s.
///
/// A dedicated thread blocks in `poll` on the inotify descriptor (and a pipe that wakes it to stop),
/// so nothing waits on Swift's cooperative pool. The same thread debounces: a batch goes out once no
/// event arrived for `debounce`, or `maxDebounce` after its first event, which folds editors' save
/// patterns (temp file then rename, truncate then write) and bursts of saves into one read.
///
/// Folders that appear are watched at once, before their contents are read, so files created with the
/// folder are found by the read that follows. Each folder is watched once by device and inode, which
/// ends symlink loops.
final class InotifyWatcher: Sendable {
    /// The debounced changes.
    let batches: AsyncStream<[ScanScope]>

    private let continuation: AsyncStream<[ScanScope]>.Continuation
    private let fd: Int32
    private let wakeFD: Int32
    private let wakeWriteFD: Int32
    private let roots: [String]
    private let debounce: Duration
    private let maxDebounce: Duration
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var paths: [Int32: String] = [:]
        var identities: [Int32: FileIdentity] = [:]
        var watched: [FileIdentity: Int32] = [:]
        var stopped = false
        var failedWatches = 0
    }

    private static let folderMask = UInt32(
        IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB
            | IN_DELETE_SELF | IN_MOVE_SELF)
    private static let watchedNames = Set(TwinSpecCodec.specFileNames + TwinFileReader.composeFileNames)

    init(roots: [String], debounce: Duration, maxDebounce: Duration, logger: Logger) throws {
        let fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        var wake: [Int32] = [-1, -1]
        guard pipe(&wake) == 0 else {
            close(fd)
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        for end in wake {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, O_NONBLOCK)
        }
        self.fd = fd
        self.wakeFD = wake[0]
        self.wakeWriteFD = wake[1]
        self.roots = roots
        self.debounce = debounce
        self.maxDebounce = maxDebounce
        self.logger = logger
        (batches, continuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    /// How many folders are watched.
    var watchCount: Int { state.withLock { $0.paths.count } }

    /// Watches `root` and every folder below it that is not watched yet; returns how many were added.
    /// Blocks on the file system: call it on ``BlockingIO`` or the watcher thread.
    @discardableResult
    func watchTree(_ root: String) -> Int {
        var added = 0
        for folder in TwinTree.folders(under: root) {
            guard let identity = TwinTree.folderIdentity(folder) else { continue }
            if state.withLock({ $0.watched[identity] != nil }) { continue }
            let wd = inotify_add_watch(fd, folder, Self.folderMask)
            if wd < 0 {
                let failure = errno
                let first = state.withLock { state in
                    state.failedWatches += 1
                    return state.failedWatches == 1
                }
                // ENOSPC: fs.inotify.max_user_watches is exhausted; the periodic rescan still sees the folder.
                if first || failure != ENOSPC {
                    logger.warning(
                        "cannot watch folder",
                        metadata: ["folder": "\(folder)", "error": "\(String(cString: strerror(failure)))"])
                }
                continue
            }
            state.withLock { state in
                if let old = state.identities[wd], old != identity { state.watched[old] = nil }
                state.paths[wd] = folder
                state.identities[wd] = identity
                state.watched[identity] = wd
            }
            added += 1
        }
        return added
    }

    /// Starts the watcher thread.
    func start() {
        let thread = Thread { [self] in loop() }
        thread.name = "dtp-discovery-inotify"
        thread.start()
    }

    /// Stops the watcher thread; the batch stream ends.
    func stop() {
        let first = state.withLock { state in
            defer { state.stopped = true }
            return !state.stopped
        }
        guard first else { return }
        var one: UInt8 = 1
        _ = write(wakeWriteFD, &one, 1)
    }

    private func loop() {
        var pending: [ScanScope] = []
        var pendingSet: Set<ScanScope> = []
        var firstAt: ContinuousClock.Instant?
        var lastAt = ContinuousClock.now
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 8)
        defer {
            buffer.deallocate()
            continuation.finish()
            close(fd)
            close(wakeFD)
            close(wakeWriteFD)
        }
        func add(_ scope: ScanScope) {
            if pendingSet.insert(scope).inserted { pending.append(scope) }
        }
        while !state.withLock({ $0.stopped }) {
            var timeout: Int32 = -1
            if let firstAt {
                let deadline = min(lastAt + debounce, firstAt + maxDebounce)
                let wait = deadline - ContinuousClock.now
                timeout = max(0, Int32(wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000))
            }
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 2, timeout)
            if ready < 0 && errno != EINTR {
                logger.error("inotify poll failed", metadata: ["error": "\(String(cString: strerror(errno)))"])
                return
            }
            if fds[1].revents != 0 { continue }
            if fds[0].revents != 0 {
                var gotEvents = false
                while true {
                    let count = read(fd, buffer.baseAddress, buffer.count)
                    if count <= 0 { break }
                    gotEvents = true
                    var offset = 0
                    while offset + 16 <= count {
                        let wd = buffer.loadUnaligned(fromByteOffset: offset, as: Int32.self)
                        let mask = buffer.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                        let length = Int(buffer.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                        let nameBytes = UnsafeRawBufferPointer(rebasing: buffer[(offset + 16)..<(offset + 16 + length)])
                        let name = String(decoding: nameBytes.prefix(while: { $0 != 0 }), as: UTF8.self)
                        offset += 16 + length
                        for scope in handle(wd: wd, mask: mask, name: name) { add(scope) }
                    }
                }
                if gotEvents {
                    lastAt = .now
                    if firstAt == nil, !pending.isEmpty { firstAt = lastAt }
                }
            }
            if let first = firstAt, ContinuousClock.now >= min(lastAt + debounce, first + maxDebounce) {
                continuation.yield(pending)
                pending.removeAll()
                pendingSet.removeAll()
                firstAt = nil
            }
        }
    }

    /// The scopes that one inotify event makes stale; watches folders that appeared and drops those gone.
    private func handle(wd: Int32, mask: UInt32, name: String) -> [ScanScope] {
        if mask & UInt32(IN_Q_OVERFLOW) != 0 {
            logger.warning("inotify queue overflowed; reading every root again")
            for root in roots { watchTree(root) }
            return roots.map { .tree($0) }
        }
        if mask & UInt32(IN_IGNORED) != 0 {
            state.withLock { state in
                if let identity = state.identities.removeValue(forKey: wd), state.watched[identity] == wd {
                    state.watched[identity] = nil
                }
                state.paths[wd] = nil
            }
            return []
        }
        guard let folder = state.withLock({ $0.paths[wd] }) else { return [] }
        if mask & UInt32(IN_DELETE_SELF | IN_MOVE_SELF) != 0 {
            return roots.contains(folder) ? [.tree(folder)] : []
        }
        if name.isEmpty { return [] }
        let path = folder + "/" + name
        let isFolder = mask & UInt32(IN_ISDIR) != 0
        if mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0 {
            if isFolder || (!Self.watchedNames.contains(name) && TwinTree.folderIdentity(path) != nil) {
                guard !TwinTree.isSkipped(name) else { return [] }
                watchTree(path)
                return [.tree(path)]
            }
        }
        if isFolder, mask & UInt32(IN_DELETE | IN_MOVED_FROM) != 0 {
            if mask & UInt32(IN_MOVED_FROM) != 0 { unwatch(under: path) }
            return [.tree(path)]
        }
        if Self.watchedNames.contains(name) { return [.folder(folder)] }
        // A symlink to a folder that was removed: its twins are gone too.
        if mask & UInt32(IN_DELETE | IN_MOVED_FROM) != 0, !TwinTree.isSkipped(name) { return [.tree(path)] }
        return []
    }

    /// Drops the watches of a folder that moved away: their paths are stale, and the folder is watched
    /// again under its new name if it moved within a root.
    private func unwatch(under path: String) {
        let wds = state.withLock { state in
            state.paths.filter { $0.value == path || $0.value.hasPrefix(path + "/") }.map(\.key)
        }
        for wd in wds {
            inotify_rm_watch(fd, wd)
            state.withLock { state in
                if let identity = state.identities.removeValue(forKey: wd), state.watched[identity] == wd {
                    state.watched[identity] = nil
                }
                state.paths[wd] = nil
            }
        }
    }
}
