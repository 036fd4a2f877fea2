import Foundation

extension String: PostgresCodable {
    /// Unspecified, so a string can stand for any type's literal (jsonb, enum, interval...).
    public static var postgresType: PostgresDataType { .unspecified }
    /// The string itself.
    public var postgresText: String? { self }
    /// The string, escaped for COPY.
    public func appendCopyText(to buffer: inout [UInt8]) { CopyText.appendEscaped(self, to: &buffer) }
    /// Any column's text.
    public init(postgresText text: String, type: PostgresDataType) { self = text }
}

extension Int: PostgresCodable {
    /// `int8`.
    public static var postgresType: PostgresDataType { .int8 }
    /// Decimal digits.
    public var postgresText: String? { String(self) }
    /// Decimal digits.
    public func appendCopyText(to buffer: inout [UInt8]) { CopyText.appendInteger(self, to: &buffer) }
    /// From `int2`, `int4`, `int8` or an integral `numeric`.
    public init(postgresText text: String, type: PostgresDataType) throws(PostgresDecodingFailure) {
        guard let value = Int(text) else { throw .unparsable(text) }
        self = value
    }
}

extension Int64: PostgresCodable {
    /// `int8`.
    public static var postgresType: PostgresDataType { .int8 }
    /// Decimal digits.
    public var postgresText: String? { String(self) }
    /// Decimal digits.
    public func appendCopyText(to buffer: inout [UInt8]) { CopyText.appendInteger(self, to: &buffer) }
    /// From `int2`, `int4`, `int8` or an integral `numeric`.
    public init(postgresText text: String, type: PostgresDataType) throws(PostgresDecodingFailure) {
        guard let value = Int64(text) else { throw .unparsable(text) }
        self = value
    }
}

extension Int32: PostgresCodable {
    /// `int4`.
    public static var postgresType: PostgresDataType { .int4 }
    /// Decimal digits.
    public var postgresText: String? { String(self) }
    /// Decimal digits.
    public func appendCopyText(to buffer: inout [UInt8]) { CopyText.appendInteger(self, to: &buffer) }
    /// From `int2` or `int4` (or a larger integer that fits).
    public init(postgresText text: String, type: PostgresDataType) throws(PostgresDecodingFailure) {
        guard let value = Int32(text) else { throw .unparsable(text) }
        self = value
    }
}

extension Double: PostgresCodable {
    /// `float8`.
    public static var postgresType: PostgresDataType { .float8 }

    /// The shortest text that reads back as the same double; PostgreSQL's spellings for the specials.
    public var postgresText: String? {
        if isNaN { return "NaN" }
        if isInfinite { return self < 0 ? "-Infinity" : "Infinity" }
        return description
    }

    /// As ``postgresText``.
    public func appendCopyText(to buffer: inout [UInt8]) { buffer.append(contentsOf: postgresText!.utf8) }

    /// From `float4`, `float8`, `numeric` or an integer column.
    public init(postgresText text: String, type: PostgresDataType) throws(PostgresDecodingFailure) {
        switch text {
        case "NaN": self = .nan
        case "Infinity": self = .infinity
        case "-Infinity": self = -.infinity
        default:
            guard let value = Double(text) else { throw .unparsable(text) }
            self = value
        }
    }
}

extension Bool: PostgresCodable {
    /// `bool`.
    public static var postgresType: PostgresDataType { .bool }
    /// `t` or `f`.
    public var postgresText: String? { self ? "t" : "f" }
    /// `t` or `f`.
    public func appendCopyText(to buffer: inout [UInt8]) { buffer.append(self ? UInt8(ascii: "t") : UInt8(ascii: "f")) }
    /// From `bool`'s `t` or `f`.
    public init(postgresText text: String, type: PostgresDataType) throws(PostgresDecodingFailure) {
        switch text {
        case "t", "true": self = true
        case "f", "false": self = false
        default: throw .unparsable(text)
        }
    }
}

extension UUID: PostgresCodable {
    /// `uuid`.
    public static var postgresType: PostgresDataType { .uuid }
    /// The canonical hyphenated form.
    public var postgresText: String? { uuidString }

    /// The hyphenated form, written byte by byte.
    public func appendCopyText(to buffer: inout [UInt8]) {
        let hex: StaticString = "0123456789abcdef"
        withUnsafeBytes(of: uuid) { bytes in
            hex.withUTF8Buffer { digits in
                for index in 0..<16 {
                    if index == 4 || index == 6 || index == 8 || index == 10 { buffer.append(UInt8(ascii: "-")) }
                    buffer.append(digits[Int(bytes[index] >> 4)])
                    buffer.append(digits[Int(bytes[index] & 0x0F)])
                }
            }
        }
    }

    /// From `uuid`.
    public init(postgresText text: String, type: PostgresDataType) throws(PostgresDecodingFailure) {
        guard let value = UUID(uuidString: text) else { throw .unparsable(text) }
        self = value
    }
}
