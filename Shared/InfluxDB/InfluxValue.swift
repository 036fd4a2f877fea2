#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One cell of a query result, as InfluxDB's JSON carries it.
///
/// JSON does not tell a float from an integer-valued float (InfluxDB prints `2.0` as `2`), so numbers
/// without a fraction decode as ``int(_:)``; ``double`` reads either.
public enum InfluxValue: Sendable, Hashable, Decodable, CustomStringConvertible {
    /// No value in this row for this column.
    case null
    /// A boolean.
    case bool(Bool)
    /// A number without a fraction that fits in Int64.
    case int(Int64)
    /// A number without a fraction above Int64.max.
    case uint(UInt64)
    /// Any other number.
    case double(Double)
    /// A string (also times, unless the query asked for an epoch).
    case string(String)

    /// Decodes whichever JSON scalar is there.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .int(value)
        } else if let value = try? container.decode(UInt64.self) {
            self = .uint(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else {
            self = .string(try container.decode(String.self))
        }
    }

    /// The number as a Double, whichever way it was written.
    public var double: Double? {
        switch self {
        case .double(let value): value
        case .int(let value): Double(value)
        case .uint(let value): Double(value)
        default: nil
        }
    }

    /// The number as an Int64 when it is integral and fits.
    public var int: Int64? {
        switch self {
        case .int(let value): value
        case .uint(let value): Int64(exactly: value)
        case .double(let value): Int64(exactly: value)
        default: nil
        }
    }

    /// The number as a UInt64 when it is integral, non-negative and fits.
    public var uint: UInt64? {
        switch self {
        case .int(let value): UInt64(exactly: value)
        case .uint(let value): value
        case .double(let value): UInt64(exactly: value)
        default: nil
        }
    }

    /// The string, if this is one.
    public var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The boolean, if this is one.
    public var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// Whether there is no value.
    public var isNull: Bool { self == .null }

    /// The value as JSON would show it.
    public var description: String {
        switch self {
        case .null: "null"
        case .bool(let value): "\(value)"
        case .int(let value): "\(value)"
        case .uint(let value): "\(value)"
        case .double(let value): "\(value)"
        case .string(let value): value.debugDescription
        }
    }
}
