#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A field value of a point: line protocol's five field types.
public enum InfluxFieldValue: Sendable, Hashable {
    /// A signed 64-bit integer, written with the `i` suffix.
    case int(Int64)
    /// An unsigned 64-bit integer, written with the `u` suffix (InfluxDB 1.8+ and 2.x; 1.x before 1.8 rejects it).
    case uint(UInt64)
    /// A 64-bit float; NaN and infinities cannot be written.
    case float(Double)
    /// A boolean, written as `true` or `false`.
    case bool(Bool)
    /// A string, written in double quotes.
    case string(String)
}

/// The unit of a point's timestamp on the wire, and of `epoch` in query results.
public enum InfluxPrecision: String, Sendable, CaseIterable {
    /// Nanoseconds, line protocol's default.
    case nanoseconds = "ns"
    /// Microseconds.
    case microseconds = "us"
    /// Milliseconds.
    case milliseconds = "ms"
    /// Seconds.
    case seconds = "s"

    /// How many nanoseconds one unit holds.
    public var nanosecondsPerUnit: Int64 {
        switch self {
        case .nanoseconds: 1
        case .microseconds: 1_000
        case .milliseconds: 1_000_000
        case .seconds: 1_000_000_000
        }
    }

    /// The spelling of the v1 API (`/write?precision=`, `/query?epoch=`), which says `n` and `u`.
    public var v1Name: String {
        switch self {
        case .nanoseconds: "n"
        case .microseconds: "u"
        case .milliseconds: "ms"
        case .seconds: "s"
        }
    }
}

/// One point: a measurement, its tags, at least one field and an optional timestamp.
///
/// The timestamp is kept in nanoseconds since the Unix epoch so that no precision is lost on the way to
/// the wire; the writer divides it down to its configured precision.
public struct InfluxPoint: Sendable, Hashable {
    /// The measurement name.
    public var measurement: String
    /// The tag set; written sorted by key, as InfluxDB recommends for write performance.
    public var tags: [String: String]
    /// The field set, in the order given (field order carries no meaning to InfluxDB).
    public var fields: [(key: String, value: InfluxFieldValue)]
    /// Nanoseconds since the Unix epoch; nil lets the server stamp the point on arrival.
    public var timestamp: Int64?

    /// A point with these parts.
    public init(
        measurement: String, tags: [String: String] = [:], fields: [(String, InfluxFieldValue)],
        timestamp: Int64? = nil
    ) {
        self.measurement = measurement
        self.tags = tags
        self.fields = fields.map { (key: $0.0, value: $0.1) }
        self.timestamp = timestamp
    }

    /// A point stamped with `date` (to the nanosecond that `Date` can hold).
    public init(measurement: String, tags: [String: String] = [:], fields: [(String, InfluxFieldValue)], date: Date) {
        self.init(
            measurement: measurement, tags: tags, fields: fields,
            timestamp: Int64((date.timeIntervalSince1970 * 1_000_000_000).rounded()))
    }

    /// The value of the field called `key`, if present.
    public func field(_ key: String) -> InfluxFieldValue? {
        fields.first { $0.key == key }?.value
    }

    /// Equal when measurement, tags, fields (in order) and timestamp are equal.
    public static func == (lhs: InfluxPoint, rhs: InfluxPoint) -> Bool {
        lhs.measurement == rhs.measurement && lhs.tags == rhs.tags && lhs.timestamp == rhs.timestamp
            && lhs.fields.count == rhs.fields.count
            && zip(lhs.fields, rhs.fields).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    /// Hashes every part, matching ``==(_:_:)``.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(measurement)
        hasher.combine(tags)
        hasher.combine(timestamp)
        for field in fields {
            hasher.combine(field.key)
            hasher.combine(field.value)
        }
    }
}
