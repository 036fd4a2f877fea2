import DTPHTTP
import Foundation
import Logging

/// One Cypher statement and its parameters.
public struct Neo4jStatement: Sendable {
    /// The Cypher text; values belong in ``parameters`` (`$name`), never spliced into the text.
    public var statement: String
    /// The parameters.
    public var parameters: [String: Neo4jValue]
    /// Whether to ask for the update counters.
    public var includeStats: Bool

    /// A statement with parameters.
    public init(_ statement: String, parameters: [String: Neo4jValue] = [:], includeStats: Bool = false) {
        self.statement = statement
        self.parameters = parameters
        self.includeStats = includeStats
    }
}

/// The result of one statement.
public struct Neo4jResult: Sendable {
    /// The column names.
    public var columns: [String]
    /// The rows, cells in column order.
    public var rows: [[Neo4jValue]]
    /// The update counters (`nodes_created`, `relationships_created`, ...), when asked for.
    public var stats: [String: Neo4jValue]?

    /// The cell of `column` in row `index`, or nil.
    public func value(row index: Int, column: String) -> Neo4jValue? {
        guard index < rows.count, let position = columns.firstIndex(of: column), position < rows[index].count else {
            return nil
        }
        return rows[index][position]
    }
}

/// What the discovery endpoint (`GET /`) says about the server.
public struct Neo4jServerInfo: Sendable, Decodable {
    /// e.g. `5.20.0`.
    public var version: String?
    /// `community` or `enterprise`.
    public var edition: String?
    /// The transaction endpoint template.
    public var transaction: String?

    enum CodingKeys: String, CodingKey {
        case version = "neo4j_version", edition = "neo4j_edition", transaction
    }
}

/// A client for Neo4j's HTTP transactional Cypher endpoint over the shared libcurl ``HTTPClient``.
///
/// ```swift
/// let neo4j = Neo4jClient(configuration: config, httpClient: http)
/// let result = try await neo4j.run("MERGE (t:Twin {id: $id}) RETURN t.id AS id", parameters: ["id": "lift-1"])
/// ```
///
/// Each call is one transaction (`POST /db/{database}/tx/commit`): its statements commit together or,
/// when any fails, the server rolls all of them back and the call throws the first of Neo4j's errors.
public struct Neo4jClient: Sendable {
    /// The settings the client was made with.
    public let configuration: Neo4jConfiguration
    let http: HTTPClient
    let logger: Logger

    /// A client for the server `configuration` names, sending through `httpClient` (which it does not own).
    public init(configuration: Neo4jConfiguration, httpClient: HTTPClient, logger: Logger = Logger(label: "dtp.neo4j")) {
        self.configuration = configuration
        self.http = httpClient
        self.logger = logger
    }

    /// The server's version and edition from the discovery endpoint (for health and wiring checks).
    public func serverInfo() async throws -> Neo4jServerInfo {
        let response = try await send(
            HTTPRequest(
                method: .get, url: configuration.url + "/", headers: headers(),
                timeout: .after(configuration.requestTimeout)))
        try check(response)
        do {
            return try JSONDecoder().decode(Neo4jServerInfo.self, from: response.body)
        } catch {
            throw invalid(response)
        }
    }

    /// Runs one statement in its own transaction.
    public func run(_ statement: String, parameters: [String: Neo4jValue] = [:]) async throws -> Neo4jResult {
        let results = try await run([Neo4jStatement(statement, parameters: parameters)])
        guard let first = results.first else {
            throw Neo4jError.invalidResponse.with(message: "the server returned no result for the statement")
        }
        return first
    }

    /// Runs `statements` in one transaction; one result per statement, in order.
    public func run(_ statements: [Neo4jStatement]) async throws -> [Neo4jResult] {
        struct Body: Encodable {
            struct Statement: Encodable {
                var statement: String
                var parameters: [String: Neo4jValue]
                var resultDataContents = ["row"]
                var includeStats: Bool
            }
            var statements: [Statement]
        }
        let body = Body(
            statements: statements.map {
                Body.Statement(statement: $0.statement, parameters: $0.parameters, includeStats: $0.includeStats)
            })
        var headers = headers()
        headers.add(name: "Content-Type", value: "application/json")
        let database = configuration.database.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed)
            ?? configuration.database
        let request = HTTPRequest(
            method: .post, url: "\(configuration.url)/db/\(database)/tx/commit", headers: headers,
            body: try JSONEncoder().encode(body), timeout: .after(configuration.requestTimeout))
        let response = try await send(request)
        try check(response)
        let answer: Answer
        do {
            answer = try JSONDecoder().decode(Answer.self, from: response.body)
        } catch {
            throw invalid(response)
        }
        if let error = answer.errors?.first { throw Self.error(error, status: response.status) }
        return (answer.results ?? []).map { result in
            Neo4jResult(columns: result.columns ?? [], rows: (result.data ?? []).map { $0.row ?? [] }, stats: result.stats)
        }
    }

    // MARK: Wire

    struct Answer: Decodable {
        struct Result: Decodable {
            struct Datum: Decodable { var row: [Neo4jValue]? }
            var columns: [String]?
            var data: [Datum]?
            var stats: [String: Neo4jValue]?
        }
        struct Failure: Decodable {
            var code: String?
            var message: String?
        }
        var results: [Result]?
        var errors: [Failure]?
    }

    private func headers() -> HTTPHeaders {
        var headers: HTTPHeaders = ["Accept": "application/json;charset=UTF-8"]
        if let password = configuration.password {
            let credentials = Data("\(configuration.username):\(password)".utf8).base64EncodedString()
            headers.add(name: "Authorization", value: "Basic \(credentials)")
        }
        return headers
    }

    private func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        do {
            return try await http.execute(request)
        } catch let error as HTTPClientError {
            if error == .cancelled { throw CancellationError() }
            throw Neo4jError.unavailable.with(message: "cannot reach \(configuration.url): \(error.message)")
        }
    }

    /// Non-2xx answers: Neo4j's `errors[]` when the body has them, else the status and body text.
    private func check(_ response: HTTPResponse) throws {
        guard !response.isSuccess else { return }
        if let answer = try? JSONDecoder().decode(Answer.self, from: response.body), let error = answer.errors?.first {
            throw Self.error(error, status: response.status)
        }
        let text = response.bodyText.trimmingCharacters(in: .whitespacesAndNewlines)
        let message = text.isEmpty ? "HTTP status \(response.status)" : String(text.prefix(500))
        let kind: Neo4jError =
            switch response.status {
            case 401, 403: .unauthorized
            case 500...: .databaseError
            default: .clientError
            }
        throw kind.with(message: message, status: response.status)
    }

    private static func error(_ failure: Answer.Failure, status: Int) -> Neo4jError {
        let code = failure.code ?? "Neo.DatabaseError.General.UnknownError"
        return Neo4jError.kind(code: code).with(code: code, message: failure.message ?? "no message", status: status)
    }

    private func invalid(_ response: HTTPResponse) -> Neo4jError {
        Neo4jError.invalidResponse.with(
            message: "not Neo4j JSON: \(String(response.bodyText.prefix(300)))", status: response.status)
    }
}
