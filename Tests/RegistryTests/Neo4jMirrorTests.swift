import DTPHTTP
import DTPModel
import DTPNeo4j
import DTPPostgres
import DTPTestSupport
import Foundation
import Synchronization
import Testing

@testable import Registry

/// The Neo4j mirror against a stand-in for Neo4j's HTTP API (no Neo4j runs on this machine) that records
/// the statements of every transaction it commits and refuses some transactions first.
@Suite("Neo4j mirror")
struct Neo4jMirrorTests {
    struct Statement: Decodable, Hashable {
        var statement: String
        var parameters: [String: Neo4jValue]
    }

    struct Body: Decodable {
        var statements: [Statement]
    }

    /// Commits are recorded in order; requests whose number is in `failing` are refused, alternately with
    /// a 503 and with a Neo4j transient error, and their statements are not recorded.
    final class FakeNeo4j: Sendable {
        struct State {
            var requests = 0
            var refused = 0
            var committed: [Statement] = []
        }

        final class Recorder: Sendable {
            let state = Mutex(State())
        }

        let recorder = Recorder()
        let server: TestHTTPServer

        init(failing: Set<Int>) throws {
            let recorder = self.recorder
            server = try TestHTTPServer { request, connection in
                guard request.method == "POST", request.path == "/db/neo4j/tx/commit",
                    let body = try? JSONDecoder().decode(Body.self, from: request.body)
                else {
                    connection.respond(status: 400, body: Data("unexpected request".utf8))
                    return .keepAlive
                }
                let number = recorder.state.withLock { state -> Int in
                    state.requests += 1
                    return state.requests
                }
                if failing.contains(number) {
                    recorder.state.withLock { $0.refused += 1 }
                    if number % 2 == 0 {
                        connection.respond(status: 503, body: Data("unavailable".utf8))
                    } else {
                        let error = #"{"results": [], "errors": [{"code": "Neo.TransientError.Transaction.DeadlockDetected", "message": "deadlock"}]}"#
                        connection.respond(status: 200, headers: [("Content-Type", "application/json")], body: Data(error.utf8))
                    }
                    return .keepAlive
                }
                recorder.state.withLock { $0.committed += body.statements }
                let results = Array(repeating: #"{"columns": [], "data": []}"#, count: body.statements.count)
                let answer = #"{"results": ["# + results.joined(separator: ",") + #"], "errors": []}"#
                connection.respond(status: 200, headers: [("Content-Type", "application/json")], body: Data(answer.utf8))
                return .keepAlive
            }
        }
    }

    @Test("every twin and relationship event reaches Neo4j once, in order, through failures and retries")
    func mirrorsThroughFailures() async throws {
        let neo4j = try FakeNeo4j(failing: [2, 3, 4])
        defer { neo4j.server.stop() }
        try await RegistryHarness.with(configure: {
            $0.neo4j = Neo4jConfiguration(url: neo4j.server.baseURL, requestTimeout: .seconds(5))
            $0.mirrorBackoff = .milliseconds(20)
        }) { registry in
            func send(_ method: HTTPMethod, _ path: String, _ body: String? = nil) async throws {
                let response = try await registry.send(method, path, body: body)
                #expect((200..<300).contains(response.status), "\(method) \(path): \(response.bodyText)")
            }
            try await send(.post, "/api/registry/twins", twinBody("dt:A", tenant: "blue", dependencies: ["dt:B"]))
            try await send(.post, "/api/registry/twins", twinBody("dt:B", tenant: "blue"))
            try await send(.post, "/api/registry/services", #"{"name": "svc", "tenant": "blue", "category": "ANA", "interfaces": {}}"#)
            try await send(.post, "/api/registry/relationships", #"{"from": "dt:A", "type": "feeds-into", "to": "dt:B"}"#)
            try await send(.patch, "/api/registry/twins/dt:B", #"{"metadata": {"status": "active"}}"#)
            for index in 0..<20 {
                try await send(.post, "/api/registry/twins", twinBody("dt:N\(index)"))
            }
            try await send(.delete, "/api/registry/relationships", #"{"from": "dt:A", "type": "feeds-into", "to": "dt:B"}"#)
            try await send(.delete, "/api/registry/twins/dt:A")

            let mirrored = try await registry.pool.query(
                """
                SELECT id, tenant, type, data FROM registry.event
                WHERE type IN ('twin.update', 'twin.delete', 'relationship.update') ORDER BY id
                """
            ).map {
                OutboxRecord(
                    id: try $0.decode(Int64.self, at: 0), tenant: try $0.decode(String.self, at: 1),
                    type: try $0.decode(String.self, at: 2), data: try $0.decode(String.self, at: 3))
            }
            #expect(mirrored.count == 26)
            let lastID = try #require(mirrored.last?.id)
            var cursor: Int64 = -1
            for _ in 0..<300 where cursor < lastID {
                try await Task.sleep(for: .milliseconds(50))
                cursor =
                    try await registry.pool.query(
                        "SELECT last_id FROM registry.mirror_cursor WHERE name = 'neo4j'"
                    ).first?.decode(Int64.self, at: 0) ?? -1
            }
            #expect(cursor == lastID)

            let state = neo4j.recorder.state.withLock { $0 }
            #expect(state.refused == 3)
            let expected = try mirrored.flatMap { try Neo4jMirror.statements(for: $0) }.map {
                Statement(statement: $0.statement, parameters: $0.parameters)
            }
            // Each event exactly once, in outbox order: nothing skipped by the failures, nothing doubled.
            #expect(state.committed == expected)

            let texts = state.committed.map(\.statement)
            #expect(texts.contains { $0.contains("MERGE (a)-[:`FEEDS_INTO` {source: 'api', type: $type}]->(b)") })
            #expect(texts.contains { $0.contains("[r:`FEEDS_INTO` {source: 'api', type: $type}]") && $0.contains("DELETE r") })
            #expect(
                state.committed.contains {
                    $0.statement.hasPrefix("MERGE (t:Twin {twin_id: $id})")
                        && $0.parameters == ["id": "dt:B", "tenant": "blue", "status": "active"]
                })
            #expect(state.committed.contains { $0.parameters["targets"] == ["dt:B"] && $0.parameters["id"] == "dt:A" })
            #expect(state.committed.last == Statement(statement: "MATCH (t:Twin {twin_id: $id}) DETACH DELETE t", parameters: ["id": "dt:A"]))
        }
    }

    @Test("relationship types become safe labels")
    func labels() {
        #expect(Neo4jMirror.label(for: "depends_on") == "DEPENDS_ON")
        #expect(Neo4jMirror.label(for: "feeds-into") == "FEEDS_INTO")
        #expect(Neo4jMirror.label(for: "a:b.c`") == "A_B_C_")
        #expect(Neo4jMirror.label(for: "3d") == "_3D")
    }

    @Test("without NEO4J_URL no mirror runs")
    func notConfigured() async throws {
        #expect(try Neo4jConfiguration(environment: [:]) == nil)
        try await RegistryHarness.with { (registry: RegistryHarness) async throws -> Void in
            #expect(registry.config.neo4j == nil)
            let created = try await registry.send(.post, "/api/registry/twins", body: twinBody("dt:Alone"))
            #expect(created.status == 201)
            // A mirror creates its cursor row as soon as it starts, before it reads any event.
            let cursors = try await registry.pool.query("SELECT * FROM registry.mirror_cursor")
            #expect(cursors.isEmpty)
        }
    }
}
