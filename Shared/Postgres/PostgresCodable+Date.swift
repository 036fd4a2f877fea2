import DTPEssentials
import Foundation

extension Date: PostgresCodable {
    /// `timestamptz`.
    public static var postgresType: PostgresDataType { .timestamptz }

    /// `YYYY-MM-DD HH:MM:SS.ffffff+00`: UTC, rounded to the microsecond PostgreSQL stores.
    public var postgresText: String? {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(32)
        appendCopyText(to: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    /// As ``postgresText``, written without intermediate strings.
    public func appendCopyText(to buffer: inout [UInt8]) {
        let micros = Int64((timeIntervalSince1970 * 1_000_000).rounded())
        var seconds = micros / 1_000_000
        var fraction = micros % 1_000_000
        if fraction < 0 {
            fraction += 1_000_000
            seconds -= 1
        }
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        let (year, month, day) = CivilDate.date(days: days)
        guard year >= 1, year <= 9999 else {
            buffer.append(contentsOf: (year < 1 ? "-infinity" : "infinity").utf8)
            return
        }
        func digits(_ value: Int64, _ width: Int) {
            var divisor: Int64 = 1
            for _ in 1..<width { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                buffer.append(UInt8(ascii: "0") + UInt8(rest / divisor))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(year, 4)
        buffer.append(UInt8(ascii: "-"))
        digits(month, 2)
        buffer.append(UInt8(ascii: "-"))
        digits(day, 2)
        buffer.append(UInt8(ascii: " "))
        digits(secondOfDay / 3600, 2)
        buffer.append(UInt8(ascii: ":"))
        digits(secondOfDay / 60 % 60, 2)
        buffer.append(UInt8(ascii: ":"))
        digits(secondOfDay % 60, 2)
        buffer.append(UInt8(ascii: "."))
        digits(fraction, 6)
        buffer.append(contentsOf: "+00".utf8)
    }

    /// From `timestamptz` (the session runs in UTC with ISO output), `timestamp` (read as UTC) or `date`
    /// (midnight UTC). Keeps the microseconds.
    public init(postgresText text: String, type: PostgresDataType) throws(PostgresDecodingFailure) {
        guard let value = PostgresTimestampText.parseTimestamp(text) else { throw .unparsable(text) }
        self = value
    }
}

/// PostgreSQL's date and time text, read without `DateFormatter` (slow and locale-sensitive).
enum PostgresTimestampText {
    /// Parses `YYYY-MM-DD[ HH:MM:SS[.ffffff]][+HH[:MM[:SS]]]`.
    static func parseTimestamp(_ text: String) -> Date? {
        switch text {
        case "infinity": return .distantFuture
        case "-infinity": return .distantPast
        default: break
        }
        let bytes = Array(text.utf8)
        var index = 0
        func number(_ width: Int? = nil) -> Int64? {
            var value: Int64 = 0
            var count = 0
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57, count < (width ?? 18) {
                value = value * 10 + Int64(bytes[index] - 48)
                index += 1
                count += 1
            }
            return count == 0 || (width != nil && count != width) ? nil : value
        }
        func expect(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }
        guard let year = number(), expect(45), let month = number(2), expect(45), let day = number(2),
            (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var seconds = CivilDate.days(year: year, month: month, day: day) * 86_400
        var micros: Int64 = 0
        if expect(32) || expect(84) {
            guard let hour = number(2), expect(58), let minute = number(2), expect(58), let second = number(2) else {
                return nil
            }
            seconds += hour * 3600 + minute * 60 + second
            if expect(46) {
                let start = index
                guard let fraction = number() else { return nil }
                var scale = index - start
                micros = fraction
                while scale < 6 {
                    micros *= 10
                    scale += 1
                }
                while scale > 6 {
                    micros /= 10
                    scale -= 1
                }
            }
        }
        if index < bytes.count {
            let sign: Int64
            if expect(43) { sign = 1 } else if expect(45) { sign = -1 } else { return nil }
            guard let hours = number(2) else { return nil }
            var offset = hours * 3600
            if expect(58) {
                guard let minutes = number(2) else { return nil }
                offset += minutes * 60
                if expect(58) {
                    guard let secs = number(2) else { return nil }
                    offset += secs
                }
            }
            seconds -= sign * offset
        }
        guard index == bytes.count else { return nil }
        return Date(timeIntervalSince1970: Double(seconds) + Double(micros) / 1_000_000)
    }
}
