import DTPEssentials

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Finds the lines a write's error message refers to.
///
/// InfluxDB names refused lines in three ways: 2.x's parser says `line 3: reason`, 1.x and 2.x quote the
/// line itself in `unable to parse '<line>': reason`, and a type conflict names only the measurement and
/// field (`input field "f" on measurement "m" is type string, already exists as type integer`), which
/// the points that were sent can match.
enum RejectionParser {
    // Regexes rather than Foundation's case-insensitive search, which needs full Foundation; built per
    // call (only failed writes get here) because a Regex value is not Sendable.
    private static var lineMarker: Regex<AnyRegexOutput> { try! Regex("line ").ignoresCase() }
    private static var parseMarker: Regex<AnyRegexOutput> { try! Regex("unable to parse '").ignoresCase() }

    static func rejectedLines(in message: String, sent: [Substring], points: [InfluxPoint]?) -> [InfluxRejectedLine] {
        var found: [Int: String] = [:]
        numbered(message, sent.count) { found[$0] = found[$0] ?? $1 }
        quoted(message, sent) { found[$0] = found[$0] ?? $1 }
        if let points { conflicts(message, points) { found[$0] = found[$0] ?? $1 } }
        return found.keys.sorted().map { index in
            InfluxRejectedLine(lineNumber: index + 1, line: String(sent[index]), reason: found[index]!)
        }
    }

    /// `dropped=N` at the end of a 1.x partial write message.
    static func droppedCount(in message: String) -> Int? {
        guard let range = message.ranges(of: "dropped=").last else { return nil }
        return Int(message[range.upperBound...].prefix { $0.isNumber })
    }

    /// `line N: reason`, N counting from 1.
    private static func numbered(_ message: String, _ count: Int, _ add: (Int, String) -> Void) {
        var rest = message[...]
        while let range = rest.firstRange(of: Self.lineMarker) {
            rest = rest[range.upperBound...]
            let digits = rest.prefix { $0.isNumber }
            guard !digits.isEmpty, let number = Int(digits) else { continue }
            let after = rest[digits.endIndex...]
            guard after.hasPrefix(":"), number >= 1, number <= count else { continue }
            add(number - 1, reason(after.dropFirst()))
        }
    }

    /// `unable to parse '<line>': reason`; the quoted line is matched against the lines sent, trying each
    /// `': ` in turn because the line itself may contain one.
    private static func quoted(_ message: String, _ sent: [Substring], _ add: (Int, String) -> Void) {
        guard message.firstRange(of: Self.parseMarker) != nil else { return }
        var indices: [Substring: [Int]] = [:]
        for (index, line) in sent.enumerated() { indices[line, default: []].append(index) }
        var used: [Substring: Int] = [:]
        var rest = message[...]
        while let start = rest.firstRange(of: Self.parseMarker) {
            rest = rest[start.upperBound...]
            var search = rest[...]
            while let end = search.firstRange(of: "': ") {
                let candidate = rest[..<end.lowerBound]
                if let matches = indices[candidate] {
                    // The same text sent twice is refused twice: take its occurrences in order.
                    let next = used[candidate, default: 0]
                    if next < matches.count {
                        used[candidate] = next + 1
                        add(matches[next], reason(rest[end.upperBound...]))
                    }
                    rest = rest[end.upperBound...]
                    break
                }
                search = search[end.upperBound...]
            }
        }
    }

    /// `field type conflict: input field "f" on measurement "m" is type T, already exists as type U`.
    private static func conflicts(_ message: String, _ points: [InfluxPoint], _ add: (Int, String) -> Void) {
        var rest = message[...]
        while let start = rest.firstRange(of: "input field \"") {
            rest = rest[start.upperBound...]
            guard let fieldEnd = rest.firstRange(of: "\" on measurement \"") else { return }
            let field = String(rest[..<fieldEnd.lowerBound])
            let afterField = rest[fieldEnd.upperBound...]
            guard let measurementEnd = afterField.firstRange(of: "\" is type ") else { return }
            let measurement = String(afterField[..<measurementEnd.lowerBound])
            let typeName = afterField[measurementEnd.upperBound...].prefix { $0.isLetter }
            let why = reason(rest[..<(afterField.firstRange(of: "\n")?.lowerBound ?? afterField.endIndex)])
            for (index, point) in points.enumerated() where point.measurement == measurement {
                if let value = point.field(field), typeName.isEmpty || typeWord(value) == typeName {
                    add(index, "field type conflict: input field \"" + why)
                }
            }
            rest = afterField[measurementEnd.upperBound...]
        }
    }

    private static func typeWord(_ value: InfluxFieldValue) -> String {
        switch value {
        case .int: "integer"
        case .uint: "unsigned"
        case .float: "float"
        case .bool: "boolean"
        case .string: "string"
        }
    }

    /// The reason text up to the end of its line or the `dropped=` suffix.
    private static func reason(_ text: Substring) -> String {
        var reason = text.prefix { $0 != "\n" }
        if let dropped = reason.firstRange(of: " dropped=") { reason = reason[..<dropped.lowerBound] }
        return reason.trimmingWhitespace()
    }
}
