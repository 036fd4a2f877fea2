import DTPEssentials
import DTPHTTPCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension InfluxDBClient {
    /// How an InfluxQL request is sent.
    public enum QueryMethod: Sendable {
        /// GET for `SELECT` (without `INTO`) and `SHOW`, POST for everything else, as InfluxDB requires.
        case automatic
        /// `GET /query?q=`.
        case get
        /// `POST /query` with a form body.
        case post
    }

    /// Runs InfluxQL through `/query` (1.x, and 2.x's v1 compatibility API) and decodes the series.
    ///
    /// - Parameters:
    ///   - statement: one or more statements separated by `;`.
    ///   - database: the `db` to query; the configured database when nil.
    ///   - epoch: return times as integers in this unit instead of RFC 3339 strings.
    /// - Throws: ``InfluxDBError/queryFailed`` with the server's message when the request or any of its
    ///   statements fails.
    public func query(
        _ statement: String, database: String? = nil, epoch: InfluxPrecision? = nil,
        method: QueryMethod = .automatic
    ) async throws -> InfluxQueryResult {
        var items: [(String, String)] = []
        let db = database ?? configuration.database
        if !db.isEmpty { items.append(("db", db)) }
        items.append(("q", statement))
        if let epoch { items.append(("epoch", epoch.v1Name)) }
        var headers: HTTPHeaders = ["Accept": "application/json"]
        addAuthorization(to: &headers)
        let usePost: Bool =
            switch method {
            case .get: false
            case .post: true
            case .automatic: !Self.isReadOnly(statement)
            }
        var request = HTTPRequest(
            method: .get, url: configuration.url + "/query?" + Self.query(items), headers: headers,
            timeout: .after(configuration.requestTimeout))
        if usePost {
            request.method = .post
            request.url = configuration.url + "/query"
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = Data(Self.query(items).utf8)
        }
        let response = try await send(request)
        guard response.isSuccess else {
            if response.status == 400 {
                throw InfluxDBError.queryFailed.with(message: Self.serverMessage(response), status: 400)
            }
            throw failure(response, sentLines: nil, points: nil)
        }
        return try Self.decodeQueryResult(response.body, epoch: epoch)
    }

    /// Creates `name` if it does not exist (1.x; `CREATE DATABASE` is idempotent).
    public func createDatabase(_ name: String) async throws {
        _ = try await query("CREATE DATABASE \(InfluxQL.identifier(name))", database: "", method: .post)
    }

    /// Drops `name` and all its data (1.x).
    public func dropDatabase(_ name: String) async throws {
        _ = try await query("DROP DATABASE \(InfluxQL.identifier(name))", database: "", method: .post)
    }

    /// Decodes `/query`'s JSON; a statement's `error` becomes ``InfluxDBError/queryFailed``.
    static func decodeQueryResult(_ body: Data, epoch: InfluxPrecision?) throws -> InfluxQueryResult {
        struct Wire: Decodable {
            var results: [Statement]?
            var error: String?
        }
        struct Statement: Decodable {
            var statement_id: Int?
            var series: [Series]?
            var error: String?
        }
        struct Series: Decodable {
            var name: String?
            var tags: [String: String]?
            var columns: [String]?
            var values: [[InfluxValue]]?
        }
        let wire: Wire
        do {
            wire = try JSONDecoder().decode(Wire.self, from: body)
        } catch {
            let excerpt = String(decoding: body.prefix(300), as: UTF8.self)
            throw InfluxDBError.invalidResponse.with(message: "query answer is not InfluxDB JSON: \(excerpt)")
        }
        if let error = wire.error { throw InfluxDBError.queryFailed.with(message: error) }
        var statements: [InfluxStatementResult] = []
        for (index, statement) in (wire.results ?? []).enumerated() {
            let id = statement.statement_id ?? index
            if let error = statement.error {
                throw InfluxDBError.queryFailed.with(message: "statement \(id): \(error)")
            }
            let series = (statement.series ?? []).map { series in
                let columns = series.columns ?? []
                return InfluxSeries(
                    name: series.name ?? "", tags: series.tags ?? [:], columns: columns,
                    rows: (series.values ?? []).map { InfluxRow(columns: columns, values: $0, epoch: epoch) })
            }
            statements.append(InfluxStatementResult(statementID: id, series: series))
        }
        return InfluxQueryResult(statements: statements)
    }

    /// Whether InfluxDB accepts `statement` over GET: only `SELECT` without `INTO`, and `SHOW`.
    static func isReadOnly(_ statement: String) -> Bool {
        let statements = statement.split(separator: ";").map { $0.trimmingWhitespaceAndNewlines() }
        return statements.filter { !$0.isEmpty }.allSatisfy { text in
            let upper = text.uppercased()
            if upper.hasPrefix("SHOW ") { return true }
            return upper.hasPrefix("SELECT ") && !upper.contains(" INTO ")
        }
    }
}

/// Quoting for InfluxQL text built from values.
public enum InfluxQL {
    /// `name` as a double-quoted identifier, so any measurement, tag or field name can be queried.
    public static func identifier(_ name: String) -> String {
        "\"" + name.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"") + "\""
    }

    /// `text` as a single-quoted string literal, e.g. for `WHERE tag = '...'`.
    public static func string(_ text: String) -> String {
        "'" + text.replacing("\\", with: "\\\\").replacing("'", with: "\\'") + "'"
    }
}
