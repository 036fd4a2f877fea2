import DTPInfluxDB

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension TwinTimestamp {
    /// The InfluxDB timestamp (nanoseconds) of a point made at `date`: whole microseconds, like `ts`.
    public static func influxTimestamp(_ date: Date) -> Int64 {
        microseconds(date) * 1000
    }

    /// The `ts` of a row's `time`, read back exactly as ``string(_:)`` wrote it for the same tick.
    public static func string(_ row: InfluxRow) -> String? {
        guard let nanoseconds = row.nanoseconds() else { return nil }
        let (quotient, remainder) = nanoseconds.quotientAndRemainder(dividingBy: 1000)
        return string(microseconds: remainder < 0 ? quotient - 1 : quotient)
    }
}
