import DTPEssentials
import Foundation

/// An instant with microsecond precision, written as ISO 8601 UTC with six fractional digits and `Z`
/// (`2026-11-29T10:54:10.145007Z`), as the earlier API wrote its timestamps.
///
/// Microseconds are what PostgreSQL's `timestamptz` stores, so a value survives a database round trip
/// exactly, which a `Date` (a `Double`) does not promise.
public struct Timestamp: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Microseconds since 1970-01-01T00:00:00Z.
    public var microsecondsSinceEpoch: Int64

    /// The instant `microseconds` after the Unix epoch.
    public init(microsecondsSinceEpoch microseconds: Int64) {
        self.microsecondsSinceEpoch = microseconds
    }

    /// The instant of `date`, rounded to the nearest microsecond.
    public init(_ date: Date) {
        microsecondsSinceEpoch = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    /// The current instant.
    public static func now() -> Timestamp { Timestamp(Date()) }

    /// This instant as a `Date`.
    public var date: Date { Date(timeIntervalSince1970: Double(microsecondsSinceEpoch) / 1_000_000) }

    /// Orders instants in time.
    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.microsecondsSinceEpoch < rhs.microsecondsSinceEpoch
    }

    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
    public var iso8601: String {
        let (seconds, micros) = microsecondsSinceEpoch.floorDivided(by: 1_000_000)
        let (days, secondOfDay) = seconds.floorDivided(by: 86_400)
        let (year, month, day) = CivilDate.date(days: days)
        let hour = secondOfDay / 3600, minute = secondOfDay % 3600 / 60, second = secondOfDay % 60
        let date = "\(year.zeroPadded(to: 4))-\(month.zeroPadded(to: 2))-\(day.zeroPadded(to: 2))"
        let time = "\(hour.zeroPadded(to: 2)):\(minute.zeroPadded(to: 2)):\(second.zeroPadded(to: 2))"
        return date + "T" + time + "." + micros.zeroPadded(to: 6) + "Z"
    }

    /// The ISO 8601 text.
    public var description: String { iso8601 }

    /// Parses `YYYY-MM-DD[T ]HH:MM:SS[.fraction](Z|±HH:MM|±HHMM|±HH)`; more than six fractional digits are
    /// rounded away. Returns `nil` for anything else.
    public init?(iso8601 text: String) {
        guard let micros = Self.microseconds(iso8601: text) else { return nil }
        microsecondsSinceEpoch = micros
    }

    /// The grammar of ``init(iso8601:)`` as microseconds since the epoch; with `zoneRequired: false` a time
    /// without a zone is UTC (as MQTT payloads often write it). Reads the string's bytes in place: the
    /// ingestor parses one per message.
    public static func microseconds(iso8601 text: String, zoneRequired: Bool = true) -> Int64? {
        var text = text
        return text.withUTF8 { microseconds(iso8601: $0, zoneRequired: zoneRequired) }
    }

    /// As ``microseconds(iso8601:zoneRequired:)``, from UTF-8 bytes.
    public static func microseconds(
        iso8601 chars: UnsafeBufferPointer<UInt8>, zoneRequired: Bool = true
    ) -> Int64? {
        var index = 0
        func number(_ digits: Int) -> Int64? {
            guard index + digits <= chars.count else { return nil }
            var value: Int64 = 0
            for offset in 0..<digits {
                let byte = chars[index + offset]
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            index += digits
            return value
        }
        func take(_ first: UInt8, _ second: UInt8? = nil, _ third: UInt8? = nil) -> Bool {
            guard index < chars.count else { return false }
            let byte = chars[index]
            guard byte == first || byte == second || byte == third else { return false }
            index += 1
            return true
        }
        guard let year = number(4), take(45), let month = number(2), take(45), let day = number(2),
            take(84, 116, 32), let hour = number(2), take(58), let minute = number(2), take(58),
            let second = number(2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var micros: Int64 = 0
        if take(46, 44) {
            var digits = 0
            var fraction: Int64 = 0
            var roundUp = false
            while index < chars.count, chars[index] >= 48, chars[index] <= 57 {
                if digits < 6 {
                    fraction = fraction * 10 + Int64(chars[index] - 48)
                } else if digits == 6 {
                    roundUp = chars[index] >= 53
                }
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<max(digits, 6) { fraction *= 10 }
            micros = fraction + (roundUp ? 1 : 0)
        }
        var offsetSeconds: Int64 = 0
        if (!zoneRequired && index == chars.count) || take(90, 122) {
            offsetSeconds = 0
        } else if index < chars.count, chars[index] == 43 || chars[index] == 45 {
            let sign: Int64 = chars[index] == 45 ? -1 : 1
            index += 1
            guard let offsetHours = number(2) else { return nil }
            var offsetMinutes: Int64 = 0
            if take(58) {
                guard let minutes = number(2) else { return nil }
                offsetMinutes = minutes
            } else if index < chars.count {
                guard let minutes = number(2) else { return nil }
                offsetMinutes = minutes
            }
            offsetSeconds = sign * (offsetHours * 3600 + offsetMinutes * 60)
        } else {
            return nil
        }
        guard index == chars.count else { return nil }
        let days = CivilDate.days(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return seconds * 1_000_000 + micros
    }

    /// Decodes the ISO 8601 text.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = Timestamp(iso8601: text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "expected an ISO 8601 timestamp, got '\(text)'")
        }
        self = value
    }

    /// Encodes the ISO 8601 text.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(iso8601)
    }
}

extension Int64 {
    /// Quotient and non-negative remainder, so instants before 1970 format correctly.
    fileprivate func floorDivided(by divisor: Int64) -> (Int64, Int64) {
        let remainder = ((self % divisor) + divisor) % divisor
        return ((self - remainder) / divisor, remainder)
    }
}
