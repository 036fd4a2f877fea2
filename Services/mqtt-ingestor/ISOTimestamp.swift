import DTPEssentials

/// The mapper's parser for a payload's ISO 8601 `ts`: the grammar of ``DTPModel/Timestamp/init(iso8601:)``
/// (`YYYY-MM-DD[T ]HH:MM:SS[.fraction](Z|±HH:MM|±HHMM|±HH)`, more than six fractional digits rounded away),
/// with the zone optional (a time without one is UTC), read straight from the string's bytes.
///
/// It gives what `Timestamp(iso8601: text) ?? Timestamp(iso8601: text + "Z")` gives, without the copies
/// and sets those build per call: a telemetry stream has a `ts` in every message, and parsing it that
/// way was a fifth of the ingestor's mapping time.
enum ISOTimestamp {
    /// Microseconds since the Unix epoch, or nil when `text` is not such a time.
    static func micros(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { micros(utf8: $0) }
    }

    static func micros(utf8 chars: UnsafeBufferPointer<UInt8>) -> Int64? {
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
        if index == chars.count || take(90, 122) {
            offsetSeconds = 0
        } else if chars[index] == 43 || chars[index] == 45 {
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
}
