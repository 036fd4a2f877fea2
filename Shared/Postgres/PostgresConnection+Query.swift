import CLibPQ
import Foundation

extension PostgresConnection {
    /// Runs a statement with `$1`, `$2`, ... parameters and returns its rows.
    ///
    /// Parameters travel separately from the SQL (`PQexecParams`), so they are never spliced into it.
    /// A failure throws a ``PostgresError`` with the server's SQLSTATE and message.
    public func query(_ sql: String, _ parameters: [any PostgresEncodable] = []) async throws -> [PostgresRow] {
        try await run(sql, parameters).rows
    }

    /// Runs a statement and returns the number of rows it affected (0 for statements without a count).
    @discardableResult
    public func execute(_ sql: String, _ parameters: [any PostgresEncodable] = []) async throws -> Int {
        try await run(sql, parameters).affectedRows
    }

    /// Runs one or more `;`-separated statements without parameters (`PQexec`), for DDL and scripts.
    public func executeScript(_ sql: String) async throws {
        try await withHandle { pointer throws(PostgresError) in
            PQclear(try LibPQ.check(PQexec(pointer, sql), on: pointer))
        }
    }

    private func run(
        _ sql: String, _ parameters: [any PostgresEncodable]
    ) async throws -> (rows: [PostgresRow], affectedRows: Int) {
        let texts = parameters.map(\.postgresText)
        let types = parameters.map { type(of: $0).postgresType.oid }
        return try await withHandle { pointer throws(PostgresError) in
            let cValues = texts.map { $0.map { strdup($0) } ?? nil }
            defer { cValues.forEach { free($0) } }
            let raw = PQexecParams(
                pointer, sql, Int32(texts.count), types, cValues.map { UnsafePointer($0) }, nil, nil, 0)
            let result = try LibPQ.check(raw, on: pointer)
            defer { PQclear(result) }
            return (Self.rows(of: result), Int(String(cString: PQcmdTuples(result))) ?? 0)
        }
    }

    /// Copies a result's rows out of libpq's memory, so rows outlive the `PGresult`.
    static func rows(of result: OpaquePointer) -> [PostgresRow] {
        let rowCount = PQntuples(result)
        let columnCount = PQnfields(result)
        guard columnCount > 0 else { return [] }
        let columns = PostgresColumns(
            names: (0..<columnCount).map { String(cString: PQfname(result, $0)) },
            types: (0..<columnCount).map { PostgresDataType(oid: PQftype(result, $0)) })
        var rows: [PostgresRow] = []
        rows.reserveCapacity(Int(rowCount))
        for row in 0..<rowCount {
            let values = (0..<columnCount).map { column -> String? in
                PQgetisnull(result, row, column) == 1 ? nil : String(cString: PQgetvalue(result, row, column))
            }
            rows.append(PostgresRow(columns: columns, values: values))
        }
        return rows
    }
}
