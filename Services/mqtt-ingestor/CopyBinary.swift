import Foundation

/// Rows in PostgreSQL's binary COPY format (`COPY … FROM STDIN (FORMAT binary)`), in chunks of about
/// 256 KiB: the database then reads times, keys and numbers as they are instead of parsing their text,
/// which is most of a row's cost to it.
struct CopyBinary: Sendable {
    private(set) var chunks: [[UInt8]] = []
    private var current: [UInt8] = []
    private var rows = 0

    /// `PGCOPY\n\377\r\n\0`, no flags, no header extension.
    private static let header: [UInt8] = [0x50, 0x47, 0x43, 0x4F, 0x50, 0x59, 0x0A, 0xFF, 0x0D, 0x0A, 0x00]
        + [0, 0, 0, 0, 0, 0, 0, 0]
    /// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01T00:00:00Z).
    static let postgresEpochMicros: Int64 = 946_684_800_000_000

    var isEmpty: Bool { rows == 0 }

    /// Starts a row of `fields` values.
    mutating func beginRow(fields: Int16) {
        if rows == 0 { current += Self.header }
        rows += 1
        append(UInt16(bitPattern: fields))
    }

    /// A `timestamptz` from microseconds since the Unix epoch.
    mutating func timestamp(_ micros: Int64) {
        append(UInt32(8))
        append(UInt64(bitPattern: micros - Self.postgresEpochMicros))
    }

    /// A `text` value; nil is NULL.
    mutating func text(_ value: String?) {
        guard var value else { return null() }
        value.withUTF8 { bytes in
            append(UInt32(bytes.count))
            current.append(contentsOf: bytes)
        }
    }

    /// A `uuid`.
    mutating func uuid(_ key: UUID) {
        append(UInt32(16))
        withUnsafeBytes(of: key.uuid) { current.append(contentsOf: $0) }
    }

    /// A `double precision`.
    mutating func double(_ value: Double) {
        append(UInt32(8))
        append(value.bitPattern)
    }

    /// NULL.
    mutating func null() {
        append(UInt32(bitPattern: -1))
    }

    /// Ends a row, starting a new chunk when this one is full.
    mutating func endRow() {
        if current.count >= 256 * 1024 {
            chunks.append(current)
            current = []
        }
    }

    /// The rows with the trailer, in chunks.
    var allChunks: [[UInt8]] {
        guard rows > 0 else { return [] }
        var last = current
        last += [0xFF, 0xFF]
        return chunks + [last]
    }

    private mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.bigEndian) { current.append(contentsOf: $0) }
    }
}
