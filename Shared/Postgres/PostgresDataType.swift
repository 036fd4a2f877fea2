/// A PostgreSQL type, by its OID: what a parameter is declared as and what a result column holds.
public struct PostgresDataType: Hashable, Sendable, CustomStringConvertible {
    /// The type's OID in `pg_type`.
    public let oid: UInt32

    /// A type by OID.
    public init(oid: UInt32) { self.oid = oid }

    /// OID 0: the server infers the parameter's type from the statement, as for an untyped literal.
    public static let unspecified = PostgresDataType(oid: 0)
    /// `bool`.
    public static let bool = PostgresDataType(oid: 16)
    /// `bytea`.
    public static let bytea = PostgresDataType(oid: 17)
    /// `int8` (bigint).
    public static let int8 = PostgresDataType(oid: 20)
    /// `int2` (smallint).
    public static let int2 = PostgresDataType(oid: 21)
    /// `int4` (integer).
    public static let int4 = PostgresDataType(oid: 23)
    /// `text`.
    public static let text = PostgresDataType(oid: 25)
    /// `json`.
    public static let json = PostgresDataType(oid: 114)
    /// `float4` (real).
    public static let float4 = PostgresDataType(oid: 700)
    /// `float8` (double precision).
    public static let float8 = PostgresDataType(oid: 701)
    /// `varchar`.
    public static let varchar = PostgresDataType(oid: 1043)
    /// `date`.
    public static let date = PostgresDataType(oid: 1082)
    /// `timestamp` (without time zone).
    public static let timestamp = PostgresDataType(oid: 1114)
    /// `timestamptz`.
    public static let timestamptz = PostgresDataType(oid: 1184)
    /// `numeric`.
    public static let numeric = PostgresDataType(oid: 1700)
    /// `uuid`.
    public static let uuid = PostgresDataType(oid: 2950)
    /// `jsonb`.
    public static let jsonb = PostgresDataType(oid: 3802)
    /// `bool[]`.
    public static let boolArray = PostgresDataType(oid: 1000)
    /// `int2[]`.
    public static let int2Array = PostgresDataType(oid: 1005)
    /// `int4[]`.
    public static let int4Array = PostgresDataType(oid: 1007)
    /// `text[]`.
    public static let textArray = PostgresDataType(oid: 1009)
    /// `int8[]`.
    public static let int8Array = PostgresDataType(oid: 1016)
    /// `float8[]`.
    public static let float8Array = PostgresDataType(oid: 1022)
    /// `timestamptz[]`.
    public static let timestamptzArray = PostgresDataType(oid: 1185)
    /// `uuid[]`.
    public static let uuidArray = PostgresDataType(oid: 2951)
    /// `jsonb[]`.
    public static let jsonbArray = PostgresDataType(oid: 3807)

    private static let names: [UInt32: String] = [
        0: "unspecified", 16: "bool", 17: "bytea", 20: "int8", 21: "int2", 23: "int4", 25: "text", 114: "json",
        700: "float4", 701: "float8", 1043: "varchar", 1082: "date", 1114: "timestamp", 1184: "timestamptz",
        1700: "numeric", 2950: "uuid", 3802: "jsonb", 1000: "bool[]", 1005: "int2[]", 1007: "int4[]",
        1009: "text[]", 1016: "int8[]", 1022: "float8[]", 1185: "timestamptz[]", 2951: "uuid[]", 3807: "jsonb[]",
        19: "name", 26: "oid", 1042: "bpchar", 1015: "varchar[]", 1021: "float4[]", 1231: "numeric[]",
    ]

    /// The type's name for the common types, else `oid N`.
    public var description: String { Self.names[oid] ?? "oid \(oid)" }
}
