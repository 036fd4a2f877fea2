import Foundation

/// A `jsonb` value: raw JSON bytes, with helpers to encode and decode `Codable` types.
///
/// Raw bytes let callers pass through JSON they already have (from an HTTP body, say) without a decode
/// and re-encode.
public struct PostgresJSON: PostgresCodable, Hashable {
    /// The JSON text, UTF-8.
    public var data: Data

    /// Wraps JSON bytes as they are; the server validates them.
    public init(data: Data) { self.data = data }

    /// Wraps JSON text as it is; the server validates it.
    public init(string: String) { self.data = Data(string.utf8) }

    /// Encodes `value` with `encoder`.
    public init<T: Encodable>(encoding value: T, encoder: JSONEncoder = JSONEncoder()) throws {
        self.data = try encoder.encode(value)
    }

    /// The JSON as text.
    public var string: String { String(decoding: data, as: UTF8.self) }

    /// Decodes the JSON as `T`.
    public func decode<T: Decodable>(_ type: T.Type = T.self, decoder: JSONDecoder = JSONDecoder()) throws -> T {
        try decoder.decode(T.self, from: data)
    }

    /// `jsonb`.
    public static var postgresType: PostgresDataType { .jsonb }

    /// The JSON text.
    public var postgresText: String? { string }

    /// The JSON text, escaped for COPY.
    public func appendCopyText(to buffer: inout [UInt8]) {
        data.withUnsafeBytes { raw in CopyText.appendEscaped(raw.bindMemory(to: UInt8.self), to: &buffer) }
    }

    /// From `json` or `jsonb` (or any text column holding JSON).
    public init(postgresText text: String, type: PostgresDataType) {
        self.data = Data(text.utf8)
    }
}
