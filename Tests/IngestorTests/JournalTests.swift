import Foundation
import Logging
import Testing

@testable import MQTTIngestor

/// The spool on its own: order, segments, release, a torn tail after a crash, the bound, the lock.
@Suite("The write-ahead spool")
struct JournalTests {
    func record(_ index: Int, size: Int = 40) -> JournalRecord {
        JournalRecord(
            topic: "t/\(index % 3)", payload: Array(repeating: UInt8(index % 251), count: size),
            receivedAt: 1_700_000_000_000_000 + Int64(index), qos: 1)
    }

    @Test("records come back in order across segments, and released segments are deleted")
    func appendReadRelease() throws {
        let directory = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let journal = try Journal(directory: directory, maxBytes: 1 << 30, segmentBytes: 4096, logger: Logger(label: "test"))
        for index in 0..<500 { #expect(journal.append(record(index))) }
        #expect(journal.segmentCount > 5)
        var position = journal.start
        var read: [JournalRecord] = []
        while position < journal.end {
            let (records, next) = try journal.read(from: position, maxRecords: 77)
            read += records
            position = next
            journal.release(upTo: next)
        }
        #expect(read == (0..<500).map { record($0) })
        #expect(journal.segmentCount == 1)
    }

    @Test("a torn record at the end of a crashed run is cut off; the rest is replayed")
    func tornTail() throws {
        let directory = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let journal = try Journal(directory: directory, maxBytes: 1 << 30, segmentBytes: 1 << 20, logger: Logger(label: "test"))
            for index in 0..<10 { #expect(journal.append(record(index))) }
        }
        // A crash in the middle of the 11th write.
        var torn: [UInt8] = []
        record(10).encode(into: &torn)
        let handle = try #require(FileHandle(forWritingAtPath: Journal.path(directory, 1)))
        handle.seekToEndOfFile()
        handle.write(Data(torn.prefix(torn.count / 2)))
        handle.closeFile()
        let journal = try Journal(directory: directory, maxBytes: 1 << 30, segmentBytes: 1 << 20, logger: Logger(label: "test"))
        let (records, _) = try journal.read(from: journal.start, maxRecords: 100)
        #expect(records == (0..<10).map { record($0) })
    }

    @Test("a full spool refuses nothing until closed, then refuses; a second process cannot open it")
    func boundAndLock() async throws {
        let directory = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let journal = try Journal(directory: directory, maxBytes: 1 << 20, segmentBytes: 64 << 10, logger: Logger(label: "test"))
        #expect(throws: JournalError.self) {
            _ = try Journal(directory: directory, maxBytes: 1 << 20, segmentBytes: 64 << 10, logger: Logger(label: "test"))
        }
        var encoded: [UInt8] = []
        record(0, size: 1000).encode(into: &encoded)
        var appended = 0
        while journal.byteCount + Int64(encoded.count) <= 1 << 20 {
            #expect(journal.append(record(appended, size: 1000)))
            appended += 1
        }
        // The next append waits for room; closing the spool releases it with false.
        let waiting = Task.detached { journal.append(record(0, size: 1000)) }
        try await Task.sleep(for: .milliseconds(200))
        journal.close()
        #expect(await waiting.value == false)
    }
}
