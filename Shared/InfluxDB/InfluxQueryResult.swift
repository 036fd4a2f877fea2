import DTPEssentials

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The answer to an InfluxQL request: one result per statement.
public struct InfluxQueryResult: Sendable {
    /// The statements' results, in order.
    public var statements: [InfluxStatementResult]

    /// Every series of every statement, in order.
    public var series: [InfluxSeries] { statements.flatMap(\.series) }
}

/// The result of one statement.
public struct InfluxStatementResult: Sendable {
    /// The statement's position in the request, from 0.
    public var statementID: Int
    /// Its series; empty when nothing matched.
    public var series: [InfluxSeries]
}

/// One series: a measurement (and tag group, with `GROUP BY`) and its rows.
public struct InfluxSeries: Sendable {
    /// The measurement (or `databases`, `measurements`... for `SHOW`).
    public var name: String
    /// The tags of the group, with `GROUP BY`.
    public var tags: [String: String]
    /// The column names; `time` first for `SELECT`.
    public var columns: [String]
    /// The rows.
    public var rows: [InfluxRow]
}

/// One row of a series, read by column name.
public struct InfluxRow: Sendable {
    /// The series' column names.
    public let columns: [String]
    /// The cells, one per column.
    public let values: [InfluxValue]
    /// The epoch unit of integer times, when the query asked for one.
    public let epoch: InfluxPrecision?

    /// The cell of `column`, or nil when there is no such column.
    public subscript(column: String) -> InfluxValue? {
        columns.firstIndex(of: column).flatMap { $0 < values.count ? values[$0] : nil }
    }

    /// The cell as a Double (integers convert).
    public func double(_ column: String) -> Double? { self[column]?.double }
    /// The cell as an Int64 when integral.
    public func int(_ column: String) -> Int64? { self[column]?.int }
    /// The cell as a UInt64 when integral and non-negative.
    public func uint(_ column: String) -> UInt64? { self[column]?.uint }
    /// The cell as a String.
    public func string(_ column: String) -> String? { self[column]?.string }
    /// The cell as a Bool.
    public func bool(_ column: String) -> Bool? { self[column]?.bool }

    /// The cell as nanoseconds since the epoch: an integer in the query's epoch unit, or an RFC 3339 time.
    public func nanoseconds(_ column: String = "time") -> Int64? {
        switch self[column] {
        case .int(let value)?:
            let (product, overflow) = value.multipliedReportingOverflow(by: (epoch ?? .nanoseconds).nanosecondsPerUnit)
            return overflow ? nil : product
        case .string(let text)?:
            return RFC3339.nanoseconds(text)
        default:
            return nil
        }
    }

    /// The cell as a Date (`time` by default); see ``nanoseconds(_:)``.
    public func date(_ column: String = "time") -> Date? {
        nanoseconds(column).map { Date(timeIntervalSince1970: Double($0) / 1_000_000_000) }
    }
}

/// InfluxDB's RFC 3339 times (`2026-01-02T03:04:05.123456789Z`), read to the nanosecond, which
/// Foundation's formatters cannot do.
enum RFC3339 {
    static func nanoseconds(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int64? {
            guard range.upperBound <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[range] {
                guard byte >= 48 && byte <= 57 else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            return value
        }
        guard bytes.count >= 20, bytes[4] == 45, bytes[7] == 45, bytes[10] == 84 || bytes[10] == 116,
            bytes[13] == 58, bytes[16] == 58,
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19)
        else { return nil }
        var index = 19
        var fraction: Int64 = 0
        if bytes[index] == 46 {
            index += 1
            var digits = 0
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                if digits < 9 { fraction = fraction * 10 + Int64(bytes[index] - 48) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            if digits < 9 { for _ in digits..<9 { fraction *= 10 } }
        }
        guard index < bytes.count else { return nil }
        var offsetSeconds: Int64 = 0
        switch bytes[index] {
        case 90, 122:  // Z
            guard index + 1 == bytes.count else { return nil }
        case 43, 45:  // + or -
            guard index + 6 == bytes.count, bytes[index + 3] == 58,
                let hours = number((index + 1)..<(index + 3)), let minutes = number((index + 4)..<(index + 6))
            else { return nil }
            offsetSeconds = (hours * 3600 + minutes * 60) * (bytes[index] == 43 ? 1 : -1)
        default:
            return nil
        }
        let days = CivilDate.days(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return seconds * 1_000_000_000 + fraction
    }
}
