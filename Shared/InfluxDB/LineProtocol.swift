/// The InfluxDB line protocol encoder.
///
/// Escaping follows the line protocol reference: in measurements commas and spaces are escaped; in tag
/// keys, tag values and field keys commas, equals signs and spaces; in string field values double
/// quotes and backslashes. Line breaks cannot be escaped outside string field values, so a name or tag
/// holding one is refused rather than silently split into two lines.
///
/// Every special character is ASCII, so the encoder works on UTF-8 bytes: a write body of thousands of
/// points is encoded without walking grapheme clusters or allocating per value.
public enum LineProtocol {
    /// One point as one line (without the trailing newline), its timestamp divided down to `precision`.
    public static func encode(_ point: InfluxPoint, precision: InfluxPrecision = .nanoseconds) throws(InfluxDBError)
        -> String
    {
        var bytes: [UInt8] = []
        try append(point, precision: precision, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Points as lines separated by newlines, ready to be a write body.
    public static func encode(_ points: [InfluxPoint], precision: InfluxPrecision = .nanoseconds)
        throws(InfluxDBError) -> String
    {
        String(decoding: try encodeBytes(points, precision: precision), as: UTF8.self)
    }

    /// Points as the UTF-8 bytes of newline-separated lines: a write body without a String in between.
    public static func encodeBytes(_ points: [InfluxPoint], precision: InfluxPrecision = .nanoseconds)
        throws(InfluxDBError) -> [UInt8]
    {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(points.count * 64)
        for point in points {
            try append(point, precision: precision, to: &bytes)
            bytes.append(newline)
        }
        return bytes
    }

    /// Appends `point` as one line (without the trailing newline) to `line`.
    public static func append(_ point: InfluxPoint, precision: InfluxPrecision, to line: inout String)
        throws(InfluxDBError)
    {
        line += try encode(point, precision: precision)
    }

    /// Appends `point` as one line (without the trailing newline) to `bytes`, as UTF-8.
    public static func append(_ point: InfluxPoint, precision: InfluxPrecision, to bytes: inout [UInt8])
        throws(InfluxDBError)
    {
        guard !point.measurement.isEmpty else { throw invalid("the measurement name is empty") }
        guard !point.fields.isEmpty else {
            throw invalid("point \(point.measurement.debugDescription) has no fields")
        }
        guard appendEscaped(point.measurement, keySpecials: false, to: &bytes) else {
            throw lineBreak(point.measurement, "measurement")
        }
        // Tags sorted by key, as InfluxDB recommends for write performance; empty values are left out.
        let tags =
            point.tags.count < 2
            ? Array(point.tags) : point.tags.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        for (key, value) in tags where !value.isEmpty {
            guard !key.isEmpty else { throw invalid("a tag key of \(point.measurement.debugDescription) is empty") }
            bytes.append(comma)
            guard appendEscaped(key, keySpecials: true, to: &bytes) else { throw lineBreak(key, "tag key") }
            bytes.append(equals)
            guard appendEscaped(value, keySpecials: true, to: &bytes) else { throw lineBreak(value, "tag value") }
        }
        bytes.append(space)
        for (index, field) in point.fields.enumerated() {
            guard !field.key.isEmpty else {
                throw invalid("a field key of \(point.measurement.debugDescription) is empty")
            }
            if index > 0 { bytes.append(comma) }
            guard appendEscaped(field.key, keySpecials: true, to: &bytes) else {
                throw lineBreak(field.key, "field key")
            }
            bytes.append(equals)
            try appendValue(field.value, key: field.key, to: &bytes)
        }
        if let timestamp = point.timestamp {
            bytes.append(space)
            appendInteger(floorDivide(timestamp, precision.nanosecondsPerUnit), to: &bytes)
        }
    }

    private static let newline = UInt8(ascii: "\n")
    private static let comma = UInt8(ascii: ",")
    private static let equals = UInt8(ascii: "=")
    private static let space = UInt8(ascii: " ")
    private static let quote = UInt8(ascii: "\"")
    private static let backslash = UInt8(ascii: "\\")

    private static func appendValue(_ value: InfluxFieldValue, key: String, to bytes: inout [UInt8])
        throws(InfluxDBError)
    {
        switch value {
        case .int(let number):
            appendInteger(number, to: &bytes)
            bytes.append(UInt8(ascii: "i"))
        case .uint(let number):
            appendUnsigned(number, to: &bytes)
            bytes.append(UInt8(ascii: "u"))
        case .float(let number):
            guard number.isFinite else { throw invalid("field \(key.debugDescription) is \(number), not finite") }
            // Swift prints the shortest text that reads back as the same Double, which Go's parser accepts.
            bytes.append(contentsOf: number.description.utf8)
        case .bool(let flag):
            bytes.append(contentsOf: flag ? "true".utf8 : "false".utf8)
        case .string(let text):
            bytes.append(quote)
            for byte in text.utf8 {
                if byte == quote || byte == backslash { bytes.append(backslash) }
                bytes.append(byte)
            }
            bytes.append(quote)
        }
    }

    /// Appends `text` with a backslash before each comma and space (and equals sign, for keys and tag
    /// values); returns false, having appended part of it, when `text` holds a line break, which line
    /// protocol cannot carry there. Line breaks are those Swift knows: LF, VT, FF, CR, NEL, U+2028, U+2029.
    private static func appendEscaped(_ text: String, keySpecials: Bool, to bytes: inout [UInt8]) -> Bool {
        var previous: UInt8 = 0
        var beforePrevious: UInt8 = 0
        for byte in text.utf8 {
            switch byte {
            case 0x0A...0x0D:
                return false
            case 0x85 where previous == 0xC2:
                return false
            case 0xA8, 0xA9:
                if previous == 0x80 && beforePrevious == 0xE2 { return false }
            case comma, space:
                bytes.append(backslash)
            case equals where keySpecials:
                bytes.append(backslash)
            default:
                break
            }
            bytes.append(byte)
            beforePrevious = previous
            previous = byte
        }
        return true
    }

    private static func appendInteger(_ value: Int64, to bytes: inout [UInt8]) {
        if value < 0 {
            bytes.append(UInt8(ascii: "-"))
            appendUnsigned(value.magnitude, to: &bytes)
        } else {
            appendUnsigned(UInt64(value), to: &bytes)
        }
    }

    private static func appendUnsigned(_ value: UInt64, to bytes: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var start = 20
            var rest = value
            repeat {
                start -= 1
                digits[start] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0
            bytes.append(contentsOf: digits[start...])
        }
    }

    private static func lineBreak(_ text: String, _ what: String) -> InfluxDBError {
        invalid("\(what) \(text.debugDescription) contains a line break, which line protocol cannot carry")
    }

    private static func invalid(_ message: String) -> InfluxDBError {
        InfluxDBError.invalidPoint.with(message: message)
    }

    /// Division that rounds towards negative infinity, so that times before 1970 stay in their unit.
    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return (value % divisor != 0 && value < 0) ? quotient - 1 : quotient
    }
}
