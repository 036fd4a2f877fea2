import Dispatch
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The write-ahead spool: every received message is appended here, on libmosquitto's loop thread, before
/// libmosquitto can send its PUBACK; the batch writer reads it back, stores it, and then deletes the
/// segment files it has finished.
///
/// A message is therefore always either in the spool or still owned by the broker: `kill -9` at any
/// moment loses nothing (the appended bytes are in the kernel's page cache, which outlives the process),
/// and the spool is replayed at the next start. Stores are idempotent, so a replay of data that was already
/// stored before the kill stores nothing twice. Power loss is covered up to the last periodic `fdatasync`
/// (``sync()``, every `DTP_SPOOL_FSYNC_MS`).
///
/// The spool is bounded (`DTP_SPOOL_MAX_BYTES`): when the stores are down long enough to fill it,
/// ``append(_:)`` waits, the socket is not read, and the broker keeps the rest (TCP back-pressure).
/// Segments are files `segment-<n>.log` of about `DTP_SPOOL_SEGMENT_BYTES`; a process holds an exclusive
/// `flock` on the folder's `lock` file, so two ingestors never share a spool.
final class Journal: Sendable {
    /// A place in the spool: a segment and a byte offset in it.
    struct Position: Sendable, Comparable, CustomStringConvertible {
        var segment: UInt64
        var offset: Int64

        static func < (lhs: Position, rhs: Position) -> Bool {
            (lhs.segment, lhs.offset) < (rhs.segment, rhs.offset)
        }

        var description: String { "\(segment):\(offset)" }
    }

    private struct State {
        var fd: Int32 = -1
        var active: UInt64 = 0
        var activeSize: Int64 = 0
        /// Every live segment (the active one included) with its size.
        var sizes: [UInt64: Int64] = [:]
        var totalBytes: Int64 = 0
        var closed = false
        var dirty = false
        /// The batch writer's reading thread sleeps in ``waitForAppend(from:timeout:)`` and
        /// wants a signal from the next append.
        var readerSleeping = false
    }

    let directory: String
    let maxBytes: Int64
    let segmentBytes: Int64
    /// Where unprocessed data began when the process started (the replay of a previous run).
    let start: Position
    private let state: Mutex<State>
    /// Wakes the reading thread: signalled by an append, by ``close()`` and by ``wakeReader()``.
    private let readerWakeup = DispatchSemaphore(value: 0)
    private let lockFD: Int32
    private let logger: Logger

    /// Opens (creating) the spool in `directory`, repairs a record torn by a crash at the end of a
    /// segment, and starts a new segment for this run.
    init(directory: String, maxBytes: Int64, segmentBytes: Int64, logger: Logger) throws {
        self.directory = directory
        self.maxBytes = maxBytes
        self.segmentBytes = segmentBytes
        self.logger = logger
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let lockFD = open(directory + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lockFD >= 0 else { throw JournalError("cannot open \(directory)/lock: \(Self.errorText())") }
        guard flock(lockFD, LOCK_EX | LOCK_NB) == 0 else {
            Glibc.close(lockFD)
            throw JournalError("the spool \(directory) is in use by another process (set DTP_INGEST_CLIENT_ID)")
        }
        self.lockFD = lockFD
        var state = State()
        let existing = try Self.segments(in: directory)
        for segment in existing {
            let size = try Self.repair(Self.path(directory, segment), logger: logger)
            if size == 0 {
                unlink(Self.path(directory, segment))
            } else {
                state.sizes[segment] = size
                state.totalBytes += size
            }
        }
        state.active = (existing.last ?? 0) + 1
        start = Position(segment: state.sizes.keys.min() ?? state.active, offset: 0)
        let fd = open(Self.path(directory, state.active), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw JournalError("cannot create a spool segment: \(Self.errorText())") }
        state.fd = fd
        state.sizes[state.active] = 0
        self.state = Mutex(state)
        if !existing.isEmpty {
            logger.notice(
                "replaying the spool of an earlier run",
                metadata: ["segments": "\(existing.count)", "bytes": "\(self.state.withLock { $0.totalBytes })"])
        }
    }

    deinit {
        let fd = state.withLock { $0.fd }
        if fd >= 0 { Glibc.close(fd) }
        Glibc.close(lockFD)
    }

    // MARK: Appending (libmosquitto's loop thread)

    /// Appends `record`, waiting while the spool is full; false once the spool is closed or when the disk
    /// refuses the write (the caller then leaves the message with the broker).
    func append(_ record: JournalRecord) -> Bool {
        append([record])
    }

    /// Appends `records` in one write (they are taken all or none), waiting while the spool is full; false
    /// once the spool is closed or when the disk refuses the write.
    func append(_ records: [JournalRecord]) -> Bool {
        var bytes: [UInt8] = []
        // Reserved once: growing record by record to the exact size copied the chunk for every record.
        bytes.reserveCapacity(records.reduce(0) { $0 + $1.encodedSize })
        for record in records { record.encode(into: &bytes) }
        let count = Int64(bytes.count)
        var waitedFull = false
        while true {
            enum Step { case write, full, closed }
            let step: Step = state.withLock { state in
                if state.closed { return .closed }
                if state.totalBytes > 0 && state.totalBytes + count > maxBytes { return .full }
                return .write
            }
            switch step {
            case .closed: return false
            case .full:
                if !waitedFull {
                    waitedFull = true
                    logger.warning(
                        "spool full; intake paused until the stores catch up", metadata: ["bytes": "\(maxBytes)"])
                }
                usleep(2000)
                continue
            case .write: break
            }
            let (ok, wakeReader) = state.withLock { state -> (Bool, Bool) in
                if state.activeSize > 0 && state.activeSize + count > segmentBytes {
                    guard rotate(&state) else { return (false, false) }
                }
                guard writeAll(state.fd, bytes) else { return (false, false) }
                state.activeSize += count
                state.totalBytes += count
                state.sizes[state.active] = state.activeSize
                state.dirty = true
                defer { state.readerSleeping = false }
                return (true, state.readerSleeping)
            }
            if wakeReader { readerWakeup.signal() }
            if !ok { logger.error("cannot append to the spool", metadata: ["error": "\(Self.errorText())"]) }
            return ok
        }
    }

    private func rotate(_ state: inout State) -> Bool {
        fdatasync(state.fd)
        Glibc.close(state.fd)
        state.active += 1
        state.activeSize = 0
        state.fd = open(Self.path(directory, state.active), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        state.sizes[state.active] = 0
        return state.fd >= 0
    }

    private func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { buffer in
            var done = 0
            while done < buffer.count {
                let written = write(fd, buffer.baseAddress! + done, buffer.count - done)
                if written < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                done += written
            }
            return true
        }
    }

    /// Stops intake: later appends return false, and one waiting for room returns false.
    func close() {
        state.withLock { $0.closed = true }
        readerWakeup.signal()
    }

    /// Wakes the reading thread from ``waitForAppend(from:timeout:)`` (something else it
    /// watches changed).
    func wakeReader() {
        readerWakeup.signal()
    }

    /// Blocks the calling thread (never a cooperative one) while nothing lies beyond `position`, until
    /// something is appended, ``wakeReader()`` is called, or `timeout` passed. It may return early: callers
    /// look again at what they wait for.
    func waitForAppend(from position: Position, timeout: Duration) {
        let mustWait = state.withLock { state -> Bool in
            guard Position(segment: state.active, offset: state.activeSize) <= position else { return false }
            // Once closed nothing is appended any more: only wakeReader() (or the time) ends the wait.
            if !state.closed { state.readerSleeping = true }
            return true
        }
        guard mustWait else { return }
        pause(timeout)
    }

    /// Blocks the calling thread (never a cooperative one) for `timeout`, or until ``close()`` or
    /// ``wakeReader()`` is called, whatever is appended meanwhile.
    func pause(_ timeout: Duration) {
        let nanoseconds = max(0, Int(timeout / .nanoseconds(1)))
        _ = readerWakeup.wait(timeout: .now() + .nanoseconds(nanoseconds))
    }

    /// After a drain to `position` == ``end`` of a closed spool: deletes every segment, so the next start
    /// has nothing to replay.
    func discardIfDrained(at position: Position) {
        let doomed = state.withLock { state -> [UInt64] in
            guard state.closed, position >= Position(segment: state.active, offset: state.activeSize) else { return [] }
            defer {
                state.sizes = [:]
                state.totalBytes = 0
            }
            return Array(state.sizes.keys)
        }
        for segment in doomed { unlink(Self.path(directory, segment)) }
    }

    /// Flushes what was appended to the disk, if anything was (power loss; not needed for `kill -9`).
    func sync() {
        let fd = state.withLock { state -> Int32 in
            guard state.dirty, state.fd >= 0 else { return -1 }
            state.dirty = false
            return dup(state.fd)
        }
        guard fd >= 0 else { return }
        fdatasync(fd)
        Glibc.close(fd)
    }

    // MARK: Reading (the batch writer)

    /// Whether ``close()`` was called.
    var isClosed: Bool { state.withLock { $0.closed } }

    /// The end of what was appended so far.
    var end: Position { state.withLock { Position(segment: $0.active, offset: $0.activeSize) } }

    /// The bytes in the spool that are not yet deleted.
    var byteCount: Int64 { state.withLock { $0.totalBytes } }

    /// The number of segment files.
    var segmentCount: Int { state.withLock { $0.sizes.count } }

    /// Reads up to `maxRecords` whole records from `position`, never beyond ``end``; returns them with the
    /// position after the last one. Runs blocking file reads: call it off the cooperative pool.
    func read(from position: Position, maxRecords: Int, maxBytes: Int = 8 << 20) throws -> (
        records: [JournalRecord], next: Position
    ) {
        var position = position
        var records: [JournalRecord] = []
        // Read about what `maxRecords` records take, not the whole rest of the segment: a writer that is
        // behind asks for a few hundred records out of megabytes.
        var chunk = min(maxBytes, max(64 << 10, maxRecords * 512))
        while records.count < maxRecords {
            let (sizes, active) = state.withLock { ($0.sizes, $0.active) }
            let size = sizes[position.segment] ?? 0
            if position.offset >= size {
                // Finished (or deleted): go on with the next live segment, unless this is the one being written.
                if position.segment == active { break }
                guard let next = sizes.keys.filter({ $0 > position.segment }).min() else { break }
                position = Position(segment: next, offset: 0)
                continue
            }
            let length = Int(min(size - position.offset, Int64(chunk)))
            let fd = open(Self.path(directory, position.segment), O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw JournalError("cannot read the spool: \(Self.errorText())") }
            var buffer = [UInt8](repeating: 0, count: length)
            let got = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, length, off_t(position.offset)) }
            Glibc.close(fd)
            guard got == length else { throw JournalError("cannot read the spool: \(Self.errorText())") }
            var consumed = 0
            var needed = 0
            var corrupt = false
            buffer.withUnsafeBytes { bytes in
                while records.count < maxRecords, consumed < got {
                    let rest = UnsafeRawBufferPointer(rebasing: bytes[consumed..<got])
                    switch JournalRecord.decode(rest) {
                    case .record(let record, let size):
                        records.append(record)
                        consumed += size
                    case .incomplete:
                        // Cut by the chunk size: the record's own length says how much to read.
                        needed = rest.count >= 4 ? Int(rest.loadUnaligned(as: UInt32.self).littleEndian) + 8 : 8
                        return
                    case .corrupt:
                        corrupt = true
                        return
                    }
                }
            }
            position.offset += Int64(consumed)
            if corrupt {
                // Only a crashed run's segment can hold one, and repair() cut those off at start-up.
                logger.error(
                    "corrupt spool record; skipping the rest of its segment",
                    metadata: ["segment": "\(position.segment)", "offset": "\(position.offset)"])
                position.offset = size
            }
            chunk = max(chunk, needed)
        }
        return (records, position)
    }

    /// Everything before `position` is stored: deletes the segments that lie wholly before it.
    func release(upTo position: Position) {
        let doomed = state.withLock { state -> [UInt64] in
            let doomed = state.sizes.filter { segment, size in
                segment != state.active
                    && (segment < position.segment || (segment == position.segment && position.offset >= size))
            }
            for (segment, size) in doomed {
                state.sizes[segment] = nil
                state.totalBytes -= size
            }
            return Array(doomed.keys)
        }
        for segment in doomed { unlink(Self.path(directory, segment)) }
    }

    // MARK: Files

    static func path(_ directory: String, _ segment: UInt64) -> String {
        let digits = String(segment)
        return directory + "/segment-" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".log"
    }

    private static func segments(in directory: String) throws -> [UInt64] {
        try FileManager.default.contentsOfDirectory(atPath: directory).compactMap { name -> UInt64? in
            guard name.hasPrefix("segment-"), name.hasSuffix(".log") else { return nil }
            return UInt64(name.dropFirst(8).dropLast(4))
        }.sorted()
    }

    /// Checks every record of a segment and cuts off a torn or corrupt tail; returns the valid size.
    private static func repair(_ path: String, logger: Logger) throws -> Int64 {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw JournalError("cannot read \(path)")
        }
        var valid = 0
        data.withUnsafeBytes { bytes in
            while valid < bytes.count {
                guard
                    case .record(_, let size) = JournalRecord.decode(UnsafeRawBufferPointer(rebasing: bytes[valid...]))
                else { return }
                valid += size
            }
        }
        if valid < data.count {
            logger.notice(
                "cut a torn record off the spool (it was never acknowledged)",
                metadata: ["file": "\(path)", "bytes": "\(data.count - valid)"])
            truncate(path, off_t(valid))
        }
        return Int64(valid)
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }
}

/// The spool cannot be opened, read or written.
struct JournalError: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { "spool: \(message)" }
}
