import DTPEssentials
import DTPModel
import Foundation

/// Rows in PostgreSQL's COPY text format, in chunks of about 256 KiB, written value by value straight
/// into the bytes (no string per value for times, keys and numbers).
struct CopyText: Sendable {
    private(set) var chunks: [[UInt8]] = []
    private var current: [UInt8] = []

    var isEmpty: Bool { chunks.isEmpty && current.isEmpty }

    /// Appends a row; nil is NULL.
    mutating func row(_ values: [String?]) {
        for (index, value) in values.enumerated() {
            if index > 0 { current.append(0x09) }
            escaped(value)
        }
        endRow()
    }

    /// Appends a text value and the tab after it; nil is NULL.
    mutating func field(_ value: String?) {
        escaped(value)
        current.append(0x09)
    }

    /// Appends the row's last text value and ends the row; nil is NULL.
    mutating func lastField(_ value: String?) {
        escaped(value)
        endRow()
    }

    /// Appends a `uuid` value (lower-case hex with dashes) and a tab.
    mutating func uuid(_ key: UUID) {
        let digits: StaticString = "0123456789abcdef"
        withUnsafeBytes(of: key.uuid) { bytes in
            digits.withUTF8Buffer { hex in
                for index in 0..<16 {
                    if index == 4 || index == 6 || index == 8 || index == 10 { current.append(0x2D) }
                    current.append(hex[Int(bytes[index] >> 4)])
                    current.append(hex[Int(bytes[index] & 0x0F)])
                }
            }
        }
        current.append(0x09)
    }

    /// Appends a `timestamptz` value from microseconds since the epoch (`YYYY-MM-DD HH:MM:SS.ffffff+00`)
    /// and a tab.
    mutating func timestamp(_ micros: Int64) {
        let (seconds, fraction) = Self.floorDivide(micros, 1_000_000)
        let (days, secondOfDay) = Self.floorDivide(seconds, 86_400)
        let (year, month, day) = CivilDate.date(days: days)
        guard (0...9999).contains(year) else {
            // Outside four-digit years: the general formatter (the mapper never lets such times through).
            current.append(contentsOf: CopyText.timestamp(micros).utf8)
            current.append(0x09)
            return
        }
        digits(Int64(year), 4)
        current.append(0x2D)
        digits(Int64(month), 2)
        current.append(0x2D)
        digits(Int64(day), 2)
        current.append(0x20)
        digits(secondOfDay / 3600, 2)
        current.append(0x3A)
        digits(secondOfDay % 3600 / 60, 2)
        current.append(0x3A)
        digits(secondOfDay % 60, 2)
        current.append(0x2E)
        digits(fraction, 6)
        current.append(contentsOf: [0x2B, 0x30, 0x30, 0x09])
    }

    private mutating func digits(_ value: Int64, _ count: Int) {
        var divisor: Int64 = 1
        for _ in 1..<count { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            current.append(UInt8(48 + rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }

    private mutating func escaped(_ value: String?) {
        guard var text = value else {
            current.append(contentsOf: [0x5C, 0x4E])
            return
        }
        text.withUTF8 { bytes in
            for byte in bytes {
                switch byte {
                case 0x5C: current.append(contentsOf: [0x5C, 0x5C])
                case 0x09: current.append(contentsOf: [0x5C, 0x74])
                case 0x0A: current.append(contentsOf: [0x5C, 0x6E])
                case 0x0D: current.append(contentsOf: [0x5C, 0x72])
                default: current.append(byte)
                }
            }
        }
    }

    private mutating func endRow() {
        current.append(0x0A)
        if current.count >= 256 * 1024 {
            chunks.append(current)
            current = []
        }
    }

    /// The rows, the last chunk included.
    var allChunks: [[UInt8]] { current.isEmpty ? chunks : chunks + [current] }

    /// An ISO 8601 UTC time from microseconds since the epoch.
    static func timestamp(_ micros: Int64) -> String {
        Timestamp(microsecondsSinceEpoch: micros).iso8601
    }

    /// A key as `uuid` text.
    static func uuid(_ key: UUID) -> String {
        key.uuidString.lowercased()
    }

    /// `bytea` in hex form (`\x…`); ``row(_:)`` doubles the backslash as COPY needs.
    static func bytea(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(2 + bytes.count * 2)
        text.append(contentsOf: [0x5C, 0x78])
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> (Int64, Int64) {
        let remainder = value % divisor
        return remainder < 0 ? (value / divisor - 1, remainder + divisor) : (value / divisor, remainder)
    }
}
