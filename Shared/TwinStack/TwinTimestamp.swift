import DTPEssentials

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// The timestamps of the earlier system's payloads: ISO 8601 with microseconds and an explicit UTC
/// offset (`2026-11-29T10:54:10.145007+00:00`), as Python's `datetime.isoformat()` wrote them.
public enum TwinTimestamp {
    /// `date` in the earlier format.
    public static func string(_ date: Date) -> String {
        string(microseconds: microseconds(date))
    }

    /// `date` as whole microseconds since the epoch, the precision of ``string(_:)``.
    ///
    /// InfluxDB points are stamped with this number, so a time read back from InfluxDB formats to exactly
    /// the `ts` that went out over MQTT; a round trip through `Date`'s floating point could lose one.
    public static func microseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded(.down))
    }

    /// Whole microseconds since the epoch in the earlier format.
    public static func string(microseconds micros: Int64) -> String {
        let seconds = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
        let fraction = micros - seconds * 1_000_000
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        let date = [
            (Int(parts.tm_year) + 1900).zeroPadded(to: 4), (Int(parts.tm_mon) + 1).zeroPadded(to: 2),
            Int(parts.tm_mday).zeroPadded(to: 2),
        ]
        let clock = [Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec)].map { $0.zeroPadded(to: 2) }
        return date.joined(separator: "-") + "T" + clock.joined(separator: ":") + "." + fraction.zeroPadded(to: 6)
            + "+00:00"
    }

    /// Reads a timestamp written by ``string(_:)`` (or any ISO 8601 time with fractional seconds).
    public static func date(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[range] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        func byte(_ index: Int, is characters: String) -> Bool {
            index < bytes.count && characters.utf8.contains(bytes[index])
        }
        guard byte(4, is: "-"), byte(7, is: "-"), byte(10, is: "Tt "), byte(13, is: ":"), byte(16, is: ":"),
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second <= 60
        else { return nil }
        var index = 19
        var fraction = 0.0
        if byte(index, is: ".") {
            let start = index + 1
            index = start
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            guard index > start, let value = Double("0." + String(decoding: bytes[start..<index], as: UTF8.self))
            else { return nil }
            fraction = value
        }
        var offset = 0
        if byte(index, is: "Zz") {
            index += 1
        } else if byte(index, is: "+-"), byte(index + 3, is: ":"), let hours = number(index + 1..<index + 3),
            let minutes = number(index + 4..<index + 6), hours < 24, minutes < 60
        {
            offset = (hours * 3600 + minutes * 60) * (bytes[index] == UInt8(ascii: "-") ? -1 : 1)
            index += 6
        } else {
            return nil
        }
        guard index == bytes.count else { return nil }
        let days = CivilDate.days(year: Int64(year), month: Int64(month), day: Int64(day))
        let seconds = Int(days) * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }
}

extension Double {
    /// Rounded to `places` decimals, as the earlier payloads were (`round(x, 3)` in Python).
    public func rounded(toPlaces places: Int) -> Double {
        let scale = pow(10, Double(places))
        return (self * scale).rounded() / scale
    }
}
