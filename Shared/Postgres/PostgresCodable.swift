/// A Swift value that can be sent to PostgreSQL as a statement parameter or a COPY field, in the text
/// format.
public protocol PostgresEncodable: Sendable {
    /// The type the parameter is declared as; ``PostgresDataType/unspecified`` lets the server infer it.
    static var postgresType: PostgresDataType { get }

    /// The value in PostgreSQL's text input format, or nil for SQL NULL.
    var postgresText: String? { get }

    /// Appends the value as one field of COPY's text format (escaped, `\N` for NULL).
    ///
    /// The default escapes ``postgresText``; common types write their bytes directly, which keeps bulk
    /// loads from allocating a string per field.
    func appendCopyText(to buffer: inout [UInt8])
}

/// A Swift value that can be read from a PostgreSQL column in the text format.
public protocol PostgresDecodable: Sendable {
    /// Decodes a non-NULL value from its text representation; `type` is the column's type.
    init(postgresText text: String, type: PostgresDataType) throws(PostgresDecodingFailure)

    /// The value that stands for SQL NULL, or nil if the type cannot hold NULL (the default).
    static var postgresNull: Self? { get }
}

/// A type both sent and read.
public typealias PostgresCodable = PostgresEncodable & PostgresDecodable

/// Why a text value could not be decoded; ``PostgresRow`` wraps it into a ``PostgresError`` that names the
/// column and its type.
public struct PostgresDecodingFailure: Error, CustomStringConvertible, Sendable {
    /// What was wrong with the value.
    public let reason: String

    /// A failure with its reason.
    public init(_ reason: String) { self.reason = reason }

    /// The reason.
    public var description: String { reason }

    static func unparsable(_ text: String) -> PostgresDecodingFailure {
        let shown = text.count > 64 ? String(text.prefix(64)) + "…" : text
        return PostgresDecodingFailure("unexpected value \"\(shown)\"")
    }
}

extension PostgresEncodable {
    /// Escapes ``postgresText`` for COPY, or writes `\N` for NULL.
    public func appendCopyText(to buffer: inout [UInt8]) {
        if let text = postgresText {
            CopyText.appendEscaped(text, to: &buffer)
        } else {
            CopyText.appendNull(to: &buffer)
        }
    }
}

extension PostgresDecodable {
    /// Plain types cannot hold NULL.
    public static var postgresNull: Self? { nil }
}

extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    /// The wrapped type's type, so `String?.none` is still typed when the wrapped type is.
    public static var postgresType: PostgresDataType { Wrapped.postgresType }

    /// The wrapped value's text, or nil for NULL.
    public var postgresText: String? { self?.postgresText }

    /// The wrapped value's COPY text, or `\N`.
    public func appendCopyText(to buffer: inout [UInt8]) {
        if let value = self {
            value.appendCopyText(to: &buffer)
        } else {
            CopyText.appendNull(to: &buffer)
        }
    }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    /// Decodes the wrapped value.
    public init(postgresText text: String, type: PostgresDataType) throws(PostgresDecodingFailure) {
        self = .some(try Wrapped(postgresText: text, type: type))
    }

    /// NULL decodes as nil.
    public static var postgresNull: Self? { .some(.none) }
}

/// The escaping rules of COPY's text format: backslash, tab, newline and carriage return are written
/// as backslash sequences, NULL as `\N`; fields are separated by tabs and rows end with a newline.
enum CopyText {
    static let tab = UInt8(ascii: "\t")
    static let newline = UInt8(ascii: "\n")
    static let backslash = UInt8(ascii: "\\")

    static func appendNull(to buffer: inout [UInt8]) {
        buffer.append(backslash)
        buffer.append(UInt8(ascii: "N"))
    }

    static func appendEscaped(_ text: String, to buffer: inout [UInt8]) {
        var text = text
        text.withUTF8 { appendEscaped($0, to: &buffer) }
    }

    static func appendEscaped(_ bytes: UnsafeBufferPointer<UInt8>, to buffer: inout [UInt8]) {
        var start = 0
        for index in 0..<bytes.count {
            let escaped: UInt8
            switch bytes[index] {
            case backslash: escaped = backslash
            case tab: escaped = UInt8(ascii: "t")
            case newline: escaped = UInt8(ascii: "n")
            case UInt8(ascii: "\r"): escaped = UInt8(ascii: "r")
            default: continue
            }
            if index > start { buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index])) }
            buffer.append(backslash)
            buffer.append(escaped)
            start = index + 1
        }
        if start < bytes.count { buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...])) }
    }

    /// Writes a row: fields separated by tabs, ended by a newline.
    static func appendRow(_ row: [any PostgresEncodable], to buffer: inout [UInt8]) {
        for (index, value) in row.enumerated() {
            if index > 0 { buffer.append(tab) }
            value.appendCopyText(to: &buffer)
        }
        buffer.append(newline)
    }

    /// Writes the decimal digits of `value` without making a string.
    static func appendInteger<T: BinaryInteger>(_ value: T, to buffer: inout [UInt8]) {
        if value == 0 {
            buffer.append(UInt8(ascii: "0"))
            return
        }
        var magnitude = value.magnitude
        if value < 0 { buffer.append(UInt8(ascii: "-")) }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 40) { digits in
            var count = 0
            while magnitude > 0 {
                digits[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            }
            while count > 0 {
                count -= 1
                buffer.append(digits[count])
            }
        }
    }
}
