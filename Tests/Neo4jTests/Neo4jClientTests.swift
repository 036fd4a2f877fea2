import DTPHTTP
import DTPNeo4j
import DTPTestSupport
import Foundation
import Synchronization
import Testing

/// A stand-in that answers as Neo4j's HTTP API documentation shows ("Result formats", "Handling errors",
/// "Authentication", "Discovery API"): no Neo4j can run on these machines.
final class FakeNeo4j: Sendable {
    static let password = "pw-" + UUID().uuidString
    let server: TestHTTPServer
    private let seen: Seen

    private final class Seen: Sendable {
        let requests = Mutex<[TestHTTPServer.Request]>([])
    }

    var requests: [TestHTTPServer.Request] { seen.requests.withLock { $0 } }

    init() throws {
        let seen = Seen()
        self.seen = seen
        server = try TestHTTPServer { request, connection in
            seen.requests.withLock { $0.append(request) }
            connection.respond(status: FakeNeo4j.status(request), headers: [("Content-Type", "application/json")],
                body: FakeNeo4j.answer(request))
            return .keepAlive
        }
    }

    var configuration: Neo4jConfiguration {
        Neo4jConfiguration(url: server.baseURL, password: Self.password, database: "twins")
    }

    private static func authorized(_ request: TestHTTPServer.Request) -> Bool {
        request.header("Authorization") == "Basic " + Data("neo4j:\(password)".utf8).base64EncodedString()
    }

    private static func status(_ request: TestHTTPServer.Request) -> Int {
        if request.path == "/" { return 200 }
        return authorized(request) ? 200 : 401
    }

    private static func json(_ object: Any) -> Data { try! JSONSerialization.data(withJSONObject: object) }

    private static func answer(_ request: TestHTTPServer.Request) -> Data {
        if request.path == "/" {
            return json([
                "bolt_routing": "neo4j://localhost:7687", "transaction": "http://localhost:7474/db/{databaseName}/tx",
                "bolt_direct": "bolt://localhost:7687", "neo4j_version": "5.26.0", "neo4j_edition": "community",
            ])
        }
        guard authorized(request) else {
            return json(["errors": [["code": "Neo.ClientError.Security.Unauthorized", "message": "Invalid credential."]]])
        }
        guard request.path == "/db/twins/tx/commit", request.method == "POST",
            let body = try? JSONSerialization.jsonObject(with: request.body) as? [String: Any],
            let statements = body["statements"] as? [[String: Any]]
        else {
            return json(["results": [], "errors": [["code": "Neo.ClientError.Request.Invalid", "message": "bad request"]]])
        }
        var results: [[String: Any]] = []
        for statement in statements {
            let text = statement["statement"] as? String ?? ""
            if text.hasPrefix("This is not a valid") {
                return json([
                    "results": [],
                    "errors": [[
                        "code": "Neo.ClientError.Statement.SyntaxError",
                        "message": "Invalid input 'T': expected <init> (line 1, column 1 (offset: 0))",
                    ]],
                ])
            }
            if text.hasPrefix("MERGE (p:Person {name: $name}) RETURN p AS person") {
                // The documentation's example: a node comes back as its properties, with meta beside it.
                let name = (statement["parameters"] as? [String: Any])?["name"] ?? NSNull()
                results.append([
                    "columns": ["person"],
                    "data": [[
                        "row": [["name": name]],
                        "meta": [["id": 11, "elementId": "4:b7c0e943:11", "type": "node", "deleted": false]],
                    ]],
                ])
                continue
            }
            // Anything else: `RETURN $a AS a, $b AS b, ...` over the parameters, sorted by name.
            let parameters = statement["parameters"] as? [String: Any] ?? [:]
            let names = parameters.keys.sorted()
            var result: [String: Any] = [
                "columns": names, "data": [["row": names.map { parameters[$0]! }, "meta": names.map { _ in NSNull() }]],
            ]
            if statement["includeStats"] as? Bool == true {
                result["stats"] = ["contains_updates": true, "nodes_created": names.count, "relationships_created": 0]
            }
            results.append(result)
        }
        return json(["results": results, "errors": [], "lastBookmarks": ["FB:kcwQ"]])
    }
}

@Suite("Neo4j client against a stand-in that answers as the documentation shows")
struct Neo4jClientTests {
    @Test func statementsAndParametersAreSentAndRowsDecoded() async throws {
        let neo4j = try FakeNeo4j()
        defer { neo4j.server.stop() }
        let http = try HTTPClient()
        let client = Neo4jClient(configuration: neo4j.configuration, httpClient: http)
        let id = UUID().uuidString
        let result = try await client.run(
            "RETURN $id AS id", parameters: ["id": .string(id), "n": 42, "x": 2.5, "ok": true, "none": nil,
                "tags": ["a", "b"], "props": ["floor": 3]])
        #expect(result.columns == ["id", "n", "none", "ok", "props", "tags", "x"])
        #expect(result.rows.count == 1)
        #expect(result.value(row: 0, column: "id") == .string(id))
        #expect(result.value(row: 0, column: "n")?.int == 42)
        #expect(result.value(row: 0, column: "x")?.double == 2.5)
        #expect(result.value(row: 0, column: "ok") == .bool(true))
        #expect(result.value(row: 0, column: "none") == .null)
        #expect(result.value(row: 0, column: "tags") == ["a", "b"])
        #expect(result.value(row: 0, column: "props")?["floor"]?.int == 3)

        let request = try #require(neo4j.requests.last)
        #expect(request.method == "POST")
        #expect(request.path == "/db/twins/tx/commit")
        #expect(request.header("Content-Type") == "application/json")
        #expect(request.header("Accept") == "application/json;charset=UTF-8")
        let body = try #require(try JSONSerialization.jsonObject(with: request.body) as? [String: Any])
        let statement = try #require((body["statements"] as? [[String: Any]])?.first)
        #expect(statement["statement"] as? String == "RETURN $id AS id")
        #expect((statement["parameters"] as? [String: Any])?["id"] as? String == id)
        await http.shutdown()
    }

    @Test func theDocumentedNodeResultAndSeveralStatementsDecode() async throws {
        let neo4j = try FakeNeo4j()
        defer { neo4j.server.stop() }
        let http = try HTTPClient()
        let client = Neo4jClient(configuration: neo4j.configuration, httpClient: http)
        let results = try await client.run([
            Neo4jStatement("MERGE (p:Person {name: $name}) RETURN p AS person", parameters: ["name": "Phil"]),
            Neo4jStatement("CREATE (a), (b)", parameters: ["a": 1, "b": 2], includeStats: true),
        ])
        #expect(results.count == 2)
        #expect(results[0].columns == ["person"])
        #expect(results[0].rows == [[["name": "Phil"]]])
        #expect(results[1].stats?["nodes_created"]?.int == 2)
        #expect(results[1].rows == [[1, 2]])
        await http.shutdown()
    }

    @Test func neo4jErrorsBecomeTypedErrorsWithCodeAndMessage() async throws {
        let neo4j = try FakeNeo4j()
        defer { neo4j.server.stop() }
        let http = try HTTPClient()
        let client = Neo4jClient(configuration: neo4j.configuration, httpClient: http)
        let error = try await #require(throws: Neo4jError.self) {
            try await client.run("This is not a valid Cypher Statement.")
        }
        #expect(error == .syntaxError)
        #expect(error.code == "Neo.ClientError.Statement.SyntaxError")
        #expect(error.message.hasPrefix("Invalid input 'T'"))
        #expect(error.description.hasPrefix("Neo4j Neo.ClientError.Statement.SyntaxError (HTTP 200): Invalid input"))
        await http.shutdown()
    }

    @Test func aWrongPasswordIsUnauthorizedAndNeverShown() async throws {
        let neo4j = try FakeNeo4j()
        defer { neo4j.server.stop() }
        let http = try HTTPClient()
        var config = neo4j.configuration
        config.password = "wrong-" + UUID().uuidString
        let client = Neo4jClient(configuration: config, httpClient: http)
        let error = try await #require(throws: Neo4jError.self) { try await client.run("RETURN 1") }
        #expect(error == .unauthorized)
        #expect(error.status == 401)
        #expect(error.code == "Neo.ClientError.Security.Unauthorized")
        #expect(error.description.contains("Invalid credential."))
        #expect(!error.description.contains(config.password!))
        #expect(!config.description.contains(config.password!))
        await http.shutdown()
    }

    @Test func discoveryGivesTheVersion() async throws {
        let neo4j = try FakeNeo4j()
        defer { neo4j.server.stop() }
        let http = try HTTPClient()
        let info = try await Neo4jClient(configuration: neo4j.configuration, httpClient: http).serverInfo()
        #expect(info.version == "5.26.0")
        #expect(info.edition == "community")
        await http.shutdown()
    }

    @Test func aServerThatIsDownIsNamedInTheError() async throws {
        let http = try HTTPClient()
        let client = Neo4jClient(
            configuration: Neo4jConfiguration(url: "http://127.0.0.1:\(TestPorts.free())", password: "secret-pw"),
            httpClient: http)
        let error = try await #require(throws: Neo4jError.self) { try await client.run("RETURN 1") }
        #expect(error == .unavailable)
        #expect(error.description.hasPrefix("Neo4j "))
        #expect(!error.description.contains("secret-pw"))
        await http.shutdown()
    }

    @Test func configurationComesFromTheEnvironment() throws {
        let config = try #require(
            try Neo4jConfiguration(environment: ["NEO4J_URL": "http://graph:7474/", "NEO4J_PASSWORD": "graph-secret"]))
        #expect(config.url == "http://graph:7474")
        #expect(config.username == "neo4j")
        #expect(config.database == "neo4j")
        #expect(!config.description.contains("graph-secret"))
        #expect(try Neo4jConfiguration(environment: [:]) == nil)
        let error = #expect(throws: Neo4jError.self) {
            try Neo4jConfiguration(environment: ["NEO4J_URL": "bolt://graph:7687"])
        }
        #expect(error.map { "\($0)" }?.contains("NEO4J_URL") == true)
    }
}

/// Against a real Neo4j, when one is configured.
@Suite("Neo4j client against a real Neo4j")
struct Neo4jLiveTests {
    // The one conditional test: no Neo4j can run on these machines, so this runs only where NEO4J_URL
    // names one (and reports itself as skipped otherwise).
    @Test(.enabled(if: ProcessInfo.processInfo.environment["NEO4J_URL"] != nil, "NEO4J_URL is not set"))
    func mergesATwinMirroringAnAssetAndCountsIt() async throws {
        let config = try #require(try Neo4jConfiguration())
        let http = try HTTPClient()
        let client = Neo4jClient(configuration: config, httpClient: http)
        let info = try await client.serverInfo()
        #expect(info.version != nil)
        let id = "dtp-test-" + UUID().uuidString
        let parameters: [String: Neo4jValue] = ["twin": .string(id), "asset": .string(id + "-asset")]
        _ = try await client.run(
            "MERGE (t:Twin {id: $twin})-[:MIRRORS]->(a:Asset {id: $asset})", parameters: parameters)
        let count = try await client.run(
            "MATCH (:Twin {id: $twin})-[r:MIRRORS]->(:Asset {id: $asset}) RETURN count(r) AS n", parameters: parameters)
        #expect(count.value(row: 0, column: "n")?.int == 1)
        await #expect(throws: Neo4jError.syntaxError) { try await client.run("MERGE (t:Twin {id: $twin") }
        _ = try await client.run(
            "MATCH (t:Twin {id: $twin})-[r:MIRRORS]->(a:Asset {id: $asset}) DELETE r, t, a", parameters: parameters)
        await http.shutdown()
    }
}
