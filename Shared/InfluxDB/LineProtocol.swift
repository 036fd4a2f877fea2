/// The InfluxDB line protocol encoder.
///
/// Escaping follows the line protocol reference: in measurements commas and spaces are escaped; in tag
/// keys, tag values and field keys commas, equals signs and spaces; in string field values double
/// quotes and backslashes. Line breaks cannot be escaped outside string field values, so a name or tag
/// holding one is refused rather than silently split into two lines.
public enum LineProtocol {
    /// One point as one line (without the trailing newline), its timestamp divided down to `precision`.
    public static func encode(_ point: InfluxPoint, precision: InfluxPrecision = .nanoseconds) throws(InfluxDBError)
        -> String
    {
        var line = ""
        try append(point, precision: precision, to: &line)
        return line
    }

    /// Points as lines separated by newlines, ready to be a write body.
    public static func encode(_ points: [InfluxPoint], precision: InfluxPrecision = .nanoseconds)
        throws(InfluxDBError) -> String
    {
        var text = ""
        text.reserveCapacity(points.count * 64)
        for point in points {
            try append(point, precision: precision, to: &text)
            text.append("\n")
        }
        return text
    }

    /// Appends `point` as one line (without the trailing newline) to `line`.
    public static func append(_ point: InfluxPoint, precision: InfluxPrecision, to line: inout String)
        throws(InfluxDBError)
    {
        guard !point.measurement.isEmpty else { throw invalid("the measurement name is empty") }
        try refuseLineBreaks(point.measurement, "measurement")
        guard !point.fields.isEmpty else {
            throw invalid("point \(point.measurement.debugDescription) has no fields")
        }
        escape(point.measurement, specials: measurementSpecials, into: &line)
        let tags = point.tags.filter { !$0.value.isEmpty }.sorted {
            $0.key.utf8.lexicographicallyPrecedes($1.key.utf8)
        }
        for (key, value) in tags {
            guard !key.isEmpty else { throw invalid("a tag key of \(point.measurement.debugDescription) is empty") }
            try refuseLineBreaks(key, "tag key")
            try refuseLineBreaks(value, "tag value")
            line.append(",")
            escape(key, specials: keySpecials, into: &line)
            line.append("=")
            escape(value, specials: keySpecials, into: &line)
        }
        line.append(" ")
        for (index, field) in point.fields.enumerated() {
            guard !field.key.isEmpty else {
                throw invalid("a field key of \(point.measurement.debugDescription) is empty")
            }
            try refuseLineBreaks(field.key, "field key")
            if index > 0 { line.append(",") }
            escape(field.key, specials: keySpecials, into: &line)
            line.append("=")
            try appendValue(field.value, key: field.key, to: &line)
        }
        if let timestamp = point.timestamp {
            line.append(" ")
            line.append(String(floorDivide(timestamp, precision.nanosecondsPerUnit)))
        }
    }

    private static let measurementSpecials: Set<Character> = [",", " "]
    private static let keySpecials: Set<Character> = [",", "=", " "]

    private static func appendValue(_ value: InfluxFieldValue, key: String, to line: inout String)
        throws(InfluxDBError)
    {
        switch value {
        case .int(let number):
            line.append(String(number))
            line.append("i")
        case .uint(let number):
            line.append(String(number))
            line.append("u")
        case .float(let number):
            guard number.isFinite else { throw invalid("field \(key.debugDescription) is \(number), not finite") }
            // Swift prints the shortest text that reads back as the same Double, which Go's parser accepts.
            line.append(number.description)
        case .bool(let flag):
            line.append(flag ? "true" : "false")
        case .string(let text):
            line.append("\"")
            for character in text {
                if character == "\"" || character == "\\" { line.append("\\") }
                line.append(character)
            }
            line.append("\"")
        }
    }

    private static func escape(_ text: String, specials: Set<Character>, into line: inout String) {
        guard text.contains(where: { specials.contains($0) }) else {
            line.append(text)
            return
        }
        for character in text {
            if specials.contains(character) { line.append("\\") }
            line.append(character)
        }
    }

    private static func refuseLineBreaks(_ text: String, _ what: String) throws(InfluxDBError) {
        if text.contains(where: \.isNewline) {
            throw invalid("\(what) \(text.debugDescription) contains a line break, which line protocol cannot carry")
        }
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
