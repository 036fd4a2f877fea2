import Foundation

/// A value that can be an element of a one-dimensional PostgreSQL array parameter.
public protocol PostgresArrayElement: PostgresEncodable {
    /// The array type whose elements are of this type, e.g. `text[]` for `String`.
    static var postgresArrayType: PostgresDataType { get }
}

extension String: PostgresArrayElement {
    /// `text[]`.
    public static var postgresArrayType: PostgresDataType { .textArray }
}

extension Int: PostgresArrayElement {
    /// `int8[]`.
    public static var postgresArrayType: PostgresDataType { .int8Array }
}

extension Int64: PostgresArrayElement {
    /// `int8[]`.
    public static var postgresArrayType: PostgresDataType { .int8Array }
}

extension Int32: PostgresArrayElement {
    /// `int4[]`.
    public static var postgresArrayType: PostgresDataType { .int4Array }
}

extension Double: PostgresArrayElement {
    /// `float8[]`.
    public static var postgresArrayType: PostgresDataType { .float8Array }
}

extension Bool: PostgresArrayElement {
    /// `bool[]`.
    public static var postgresArrayType: PostgresDataType { .boolArray }
}

extension Optional: PostgresArrayElement where Wrapped: PostgresArrayElement {
    /// The wrapped type's array type: arrays may hold NULLs.
    public static var postgresArrayType: PostgresDataType { Wrapped.postgresArrayType }
}

extension Array: PostgresEncodable where Element: PostgresArrayElement {
    /// The element type's array type.
    public static var postgresType: PostgresDataType { Element.postgresArrayType }

    /// An array literal, every element quoted and NULL for nil: `{"a","b \"c\"",NULL}`.
    public var postgresText: String? {
        var text = "{"
        for (index, element) in enumerated() {
            if index > 0 { text += "," }
            guard let value = element.postgresText else {
                text += "NULL"
                continue
            }
            text += "\""
            for character in value.unicodeScalars {
                if character == "\"" || character == "\\" { text += "\\" }
                text.unicodeScalars.append(character)
            }
            text += "\""
        }
        return text + "}"
    }
}

extension Array: PostgresDecodable where Element: PostgresDecodable {
    /// From a one-dimensional array column; elements decode as `Element` (use an optional element type
    /// for arrays that hold NULLs).
    public init(postgresText text: String, type: PostgresDataType) throws(PostgresDecodingFailure) {
        let items = try PostgresArrayLiteral.parse(text)
        var result: [Element] = []
        result.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            if let item {
                do {
                    result.append(try Element(postgresText: item, type: .unspecified))
                } catch {
                    throw PostgresDecodingFailure("element \(index + 1): \(error.reason)")
                }
            } else if let null = Element.postgresNull {
                result.append(null)
            } else {
                throw PostgresDecodingFailure("element \(index + 1) is NULL; decode as [\(Element.self)?]")
            }
        }
        self = result
    }
}

/// Reads PostgreSQL's array output: `{a,"b c",NULL}`, with an optional `[lo:hi]=` prefix.
enum PostgresArrayLiteral {
    static func parse(_ text: String) throws(PostgresDecodingFailure) -> [String?] {
        var scalars = Substring(text).unicodeScalars[...]
        if scalars.first == "[" {
            guard let equals = scalars.firstIndex(of: "=") else { throw .unparsable(text) }
            scalars = scalars[scalars.index(after: equals)...]
        }
        guard scalars.first == "{", scalars.last == "}" else { throw .unparsable(text) }
        scalars = scalars.dropFirst().dropLast()
        var items: [String?] = []
        guard !scalars.isEmpty else { return items }
        var current = String.UnicodeScalarView()
        var quoted = false
        var wasQuoted = false
        var escaped = false
        func finish() {
            let value = String(current)
            items.append(!wasQuoted && value.uppercased() == "NULL" ? nil : value)
            current = String.UnicodeScalarView()
            wasQuoted = false
        }
        for scalar in scalars {
            if escaped {
                current.append(scalar)
                escaped = false
            } else if scalar == "\\" {
                escaped = true
            } else if scalar == "\"" {
                quoted.toggle()
                wasQuoted = true
            } else if scalar == "," && !quoted {
                finish()
            } else if scalar == "{" && !quoted {
                throw PostgresDecodingFailure("multi-dimensional arrays are not supported")
            } else {
                current.append(scalar)
            }
        }
        guard !quoted, !escaped else { throw .unparsable(text) }
        finish()
        return items
    }
}

extension UUID: PostgresArrayElement {
    /// `uuid[]`.
    public static var postgresArrayType: PostgresDataType { .uuidArray }
}

extension Date: PostgresArrayElement {
    /// `timestamptz[]`.
    public static var postgresArrayType: PostgresDataType { .timestamptzArray }
}
