import Foundation

/// The columns of a result: names and types, shared by all its rows.
public final class PostgresColumns: Sendable {
    /// Column names, in order.
    public let names: [String]
    /// Column types, in order.
    public let types: [PostgresDataType]
    private let indexByName: [String: Int]

    init(names: [String], types: [PostgresDataType]) {
        self.names = names
        self.types = types
        var indexByName: [String: Int] = [:]
        // The first column of a name wins, as in SQL's own resolution of `SELECT a.x, b.x`.
        for (index, name) in names.enumerated().reversed() { indexByName[name] = index }
        self.indexByName = indexByName
    }

    /// The index of the column named `name`, or nil.
    public func index(of name: String) -> Int? { indexByName[name] }
}

/// One row of a result, its values kept as text; decode them by column index or name.
public struct PostgresRow: Sendable {
    /// The result's columns.
    public let columns: PostgresColumns
    /// The raw text of each column, nil for NULL.
    public let values: [String?]

    init(columns: PostgresColumns, values: [String?]) {
        self.columns = columns
        self.values = values
    }

    /// The number of columns.
    public var count: Int { values.count }

    /// Decodes column `index` (from 0) as `type`; use an optional type for nullable columns.
    public func decode<T: PostgresDecodable>(_ type: T.Type = T.self, at index: Int) throws(PostgresError) -> T {
        guard values.indices.contains(index) else {
            throw .decoding(
                column: "#\(index)", postgresType: "none", swiftType: T.self,
                reason: "the row has \(values.count) columns")
        }
        let column = columns.names[index]
        let postgresType = columns.types[index]
        guard let text = values[index] else {
            guard let null = T.postgresNull else {
                throw .decoding(
                    column: column, postgresType: postgresType.description, swiftType: T.self,
                    reason: "the value is NULL; decode as \(T.self)?")
            }
            return null
        }
        do {
            return try T(postgresText: text, type: postgresType)
        } catch {
            throw .decoding(
                column: column, postgresType: postgresType.description, swiftType: T.self, reason: error.reason)
        }
    }

    /// Decodes the column named `name` as `type`.
    public func decode<T: PostgresDecodable>(_ type: T.Type = T.self, named name: String) throws(PostgresError) -> T {
        guard let index = columns.index(of: name) else {
            throw .decoding(
                column: name, postgresType: "none", swiftType: T.self,
                reason: "the result has no such column (columns: \(columns.names.joined(separator: ", ")))")
        }
        return try decode(T.self, at: index)
    }

    /// Decodes a `json`/`jsonb` column at `index` into a `Decodable` type.
    public func decodeJSON<T: Decodable>(
        _ type: T.Type = T.self, at index: Int, decoder: JSONDecoder = JSONDecoder()
    ) throws(PostgresError) -> T {
        let json = try decode(PostgresJSON.self, at: index)
        do {
            return try json.decode(T.self, decoder: decoder)
        } catch {
            throw .decoding(
                column: columns.names[index], postgresType: columns.types[index].description, swiftType: T.self,
                reason: "\(error)")
        }
    }

    /// Decodes a `json`/`jsonb` column named `name` into a `Decodable` type.
    public func decodeJSON<T: Decodable>(
        _ type: T.Type = T.self, named name: String, decoder: JSONDecoder = JSONDecoder()
    ) throws(PostgresError) -> T {
        guard let index = columns.index(of: name) else {
            throw .decoding(
                column: name, postgresType: "none", swiftType: T.self, reason: "the result has no such column")
        }
        return try decodeJSON(T.self, at: index, decoder: decoder)
    }

    /// Whether the column at `index` is NULL.
    public func isNull(at index: Int) -> Bool { values.indices.contains(index) && values[index] == nil }
}
