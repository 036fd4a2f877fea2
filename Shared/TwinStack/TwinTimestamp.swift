import Foundation

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
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%06d+00:00", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
            Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(fraction))
    }

    /// Reads a timestamp written by ``string(_:)`` (or any ISO 8601 time with fractional seconds).
    public static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) {
            // The formatter keeps milliseconds only; the microseconds are added back from the text.
            guard let dot = text.firstIndex(of: "."), let end = text[dot...].firstIndex(where: { $0 == "+" || $0 == "Z" || $0 == "-" })
            else { return date }
            let digits = text[text.index(after: dot)..<end]
            guard let fraction = Double("0." + digits) else { return date }
            return Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down) + fraction)
        }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}

extension Double {
    /// Rounded to `places` decimals, as the earlier payloads were (`round(x, 3)` in Python).
    public func rounded(toPlaces places: Int) -> Double {
        let scale = Foundation.pow(10, Double(places))
        return (self * scale).rounded() / scale
    }
}
