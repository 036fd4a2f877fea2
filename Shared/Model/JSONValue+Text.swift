extension JSONValue {
    /// Why a JSON text could not be read, and where.
    public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        /// What is wrong, in words.
        public let message: String
        /// The line of the problem, from 1.
        public let line: Int
        /// The column of the problem, from 1, in Unicode scalars.
        public let column: Int

        /// "line:column: message".
        public var description: String { "\(line):\(column): \(message)" }
    }

    /// Parses a JSON text strictly (RFC 8259), keeping integers apart from floating-point numbers.
    ///
    /// - Parameter maxDepth: arrays and objects nested deeper than this are an error rather than a risk to the
    ///   stack.
    /// - Throws: `JSONValue.ParseError` with the line and column of the first problem; duplicate object keys
    ///   are an error.
    public init(jsonText: String, maxDepth: Int = 512) throws {
        var parser = JSONTextParser(text: jsonText, maxDepth: maxDepth)
        self = try parser.parseDocument().json
    }

    /// This value as compact (or pretty-printed) JSON text with sorted keys, so equal values give equal text.
    ///
    /// Doubles are written so that they read back as doubles (`2.0`, not `2`).
    /// - Throws: `EncodingError.invalidValue` for NaN or an infinity, which JSON cannot express.
    public func jsonText(prettyPrinted: Bool = false) throws -> String {
        var output = ""
        try JSONValue.write(self, to: &output, pretty: prettyPrinted, indent: 0)
        return output
    }

    private static func write(_ value: JSONValue, to output: inout String, pretty: Bool, indent: Int) throws {
        switch value {
        case .null: output += "null"
        case .bool(let bool): output += bool ? "true" : "false"
        case .int(let int): output += String(int)
        case .double(let double): output += try formatDouble(double)
        case .string(let string): writeString(string, to: &output)
        case .array(let elements):
            if elements.isEmpty {
                output += "[]"
                return
            }
            output += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { output += "," }
                if pretty { newline(&output, indent + 1) }
                try write(element, to: &output, pretty: pretty, indent: indent + 1)
            }
            if pretty { newline(&output, indent) }
            output += "]"
        case .object(let members):
            if members.isEmpty {
                output += "{}"
                return
            }
            output += "{"
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { output += "," }
                if pretty { newline(&output, indent + 1) }
                writeString(key, to: &output)
                output += pretty ? ": " : ":"
                try write(members[key]!, to: &output, pretty: pretty, indent: indent + 1)
            }
            if pretty { newline(&output, indent) }
            output += "}"
        }
    }

    private static func newline(_ output: inout String, _ indent: Int) {
        output += "\n"
        output += String(repeating: "  ", count: indent)
    }

    /// The shortest text that reads back as the same `Double`, always with a fraction or an exponent.
    static func formatDouble(_ double: Double) throws -> String {
        guard double.isFinite else {
            throw EncodingError.invalidValue(
                double, .init(codingPath: [], debugDescription: "JSON cannot express \(double)"))
        }
        let text = "\(double)"
        return text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) ? text : text + ".0"
    }

    static func writeString(_ string: String, to output: inout String) {
        output += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case "\u{08}": output += "\\b"
            case "\u{0C}": output += "\\f"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    output.unicodeScalars.append(scalar)
                }
            }
        }
        output += "\""
    }
}
