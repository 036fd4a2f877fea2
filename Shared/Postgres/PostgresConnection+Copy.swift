import CLibPQ
import Foundation

extension PostgresConnection {
    /// Bulk-loads `rows` into `table` with `COPY ... FROM STDIN` and returns the number of rows loaded.
    ///
    /// Each row holds one value per column, in `columns` order; values are written in COPY's text
    /// format (backslash, tab, newline and carriage return escaped, NULL as `\N`) and streamed in chunks
    /// of about `chunkSize` bytes, so memory stays flat however many rows the sequence yields. `table`
    /// may be schema-qualified (`schema.table`); names are quoted. The load is one statement: it
    /// commits entirely or not at all.
    public func copy<Rows: Sequence & Sendable>(
        rows: Rows, into table: String, columns: [String], chunkSize: Int = 256 * 1024
    ) async throws -> Int where Rows.Element == [any PostgresEncodable] {
        let statement = Self.copyStatement(table: table, columns: columns)
        let columnCount = columns.count
        return try await withHandle { pointer throws(PostgresError) -> Int in
            try Self.runCopy(statement, on: pointer) { send throws(PostgresError) in
                var buffer: [UInt8] = []
                buffer.reserveCapacity(chunkSize + 4096)
                for (index, row) in rows.enumerated() {
                    guard row.count == columnCount else {
                        throw .encoding("COPY row \(index + 1) has \(row.count) values for \(columnCount) columns")
                    }
                    CopyText.appendRow(row, to: &buffer)
                    if buffer.count >= chunkSize {
                        try send(buffer)
                        buffer.removeAll(keepingCapacity: true)
                    }
                }
                if !buffer.isEmpty { try send(buffer) }
            }
        }
    }

    /// Runs a `COPY ... FROM STDIN` `statement` and streams `chunks` to it as they are, for data already
    /// in a COPY format (text, CSV or binary, as the statement says). Returns the number of rows loaded.
    public func copy<Chunks: Sequence & Sendable>(
        _ statement: String, chunks: Chunks
    ) async throws -> Int where Chunks.Element == [UInt8] {
        try await withHandle { pointer throws(PostgresError) -> Int in
            try Self.runCopy(statement, on: pointer) { send throws(PostgresError) in
                for chunk in chunks where !chunk.isEmpty { try send(chunk) }
            }
        }
    }

    /// `COPY "schema"."table" ("a", "b") FROM STDIN`.
    static func copyStatement(table: String, columns: [String]) -> String {
        let name = table.split(separator: ".", omittingEmptySubsequences: false).map { quoteIdentifier(String($0)) }
        let list = columns.map(quoteIdentifier).joined(separator: ", ")
        return "COPY \(name.joined(separator: ".")) (\(list)) FROM STDIN"
    }

    /// Double-quotes an identifier, doubling inner quotes, as SQL requires.
    static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// The COPY IN protocol: start the statement, let `produce` send the data through
    /// `PQputCopyData`, end with `PQputCopyEnd` (or abort it with the producer's error), then collect
    /// the final result with `PQgetResult`.
    private static func runCopy(
        _ statement: String, on pointer: OpaquePointer,
        produce: ((borrowing [UInt8]) throws(PostgresError) -> Void) throws(PostgresError) -> Void
    ) throws(PostgresError) -> Int {
        let start = try LibPQ.check(PQexec(pointer, statement), on: pointer)
        let status = PQresultStatus(start)
        PQclear(start)
        guard status == PGRES_COPY_IN else {
            // A COPY TO would keep answering COPY_OUT; the pool drops that connection as not idle.
            if status != PGRES_COPY_OUT { drainResults(pointer) }
            throw .protocolViolation("\(statement) did not start a COPY FROM STDIN")
        }
        var producerError: PostgresError?
        do throws(PostgresError) {
            try produce { (chunk: borrowing [UInt8]) throws(PostgresError) in
                let sent = chunk.withUnsafeBufferPointer { bytes in
                    bytes.withMemoryRebound(to: CChar.self) { PQputCopyData(pointer, $0.baseAddress, Int32($0.count)) }
                }
                guard sent == 1 else { throw .connection(LibPQ.errorMessage(pointer)) }
            }
        } catch {
            producerError = error
        }
        if PQstatus(pointer) == CONNECTION_BAD {
            throw producerError ?? .connection(LibPQ.errorMessage(pointer))
        }
        let ended: Int32
        if let producerError {
            ended = PQputCopyEnd(pointer, "aborted by client: \(producerError.message)")
        } else {
            ended = PQputCopyEnd(pointer, nil)
        }
        guard ended == 1 else { throw .connection(LibPQ.errorMessage(pointer)) }
        var rows = 0
        var firstError: PostgresError? = nil
        while let result = PQgetResult(pointer) {
            do throws(PostgresError) {
                let checked = try LibPQ.check(result, on: pointer)
                rows = Int(String(cString: PQcmdTuples(checked))) ?? 0
                PQclear(checked)
            } catch {
                firstError = firstError ?? error
            }
        }
        if let producerError { throw producerError }
        if let firstError { throw firstError }
        return rows
    }

    /// Reads and frees results until libpq says the command is over, so the connection is idle again.
    static func drainResults(_ pointer: OpaquePointer) {
        while let result = PQgetResult(pointer) { PQclear(result) }
    }
}
