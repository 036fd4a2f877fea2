import DTPModel
import DTPPostgres
import DTPServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// `POST`/`DELETE /api/registry/relationships` and `GET /api/registry/twins/{id}/graph`.
///
/// Edges come from twins' `dependencies` (type `depends_on`, source `static` or `dynamic`) and from this
/// API (source `api`).
struct RelationshipController: Sendable {
    let pool: PostgresPool
    let maxBodyBytes: Int

    static let maxDepth = 10

    func addRoutes(to group: RouterGroup<RegistryContext>) {
        group.post("relationships", use: add)
        group.delete("relationships", use: remove)
        group.get("relationships", use: list)
        group.get("twins/{id}/graph", use: graph)
    }

    struct Edge: Sendable {
        var from: String
        var type: String
        var to: String
    }

    static func edge(from json: JSONValue) throws(APIError) -> Edge {
        guard case .object(let object) = json else { throw APIError.badRequest("body must be a JSON object") }
        let missing = ["from", "type", "to"].filter { object[$0]?.stringValue == nil }
        if !missing.isEmpty { throw APIError.badRequest("missing: " + missing.joined(separator: ", ")) }
        let edge = Edge(from: object["from"]!.stringValue!, type: object["type"]!.stringValue!, to: object["to"]!.stringValue!)
        for (field, value) in [("from", edge.from), ("to", edge.to), ("type", edge.type)] {
            let valid = !value.isEmpty && value.count <= 200
                && value.unicodeScalars.allSatisfy {
                    ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || ":._-".unicodeScalars.contains($0)
                }
            if !valid { throw APIError.unprocessable("\(field): only letters, digits and ':._-', at most 200") }
        }
        return edge
    }

    @Sendable func add(_ request: Request, context: RegistryContext) async throws -> Response {
        let edge = try Self.edge(from: try await RequestJSON.read(request, limit: maxBodyBytes))
        let actor = context.caller
        let created = try await pool.transaction { connection -> Bool in
            guard
                let row = try await connection.query("SELECT tenant FROM registry.twin WHERE id = $1", [edge.from]).first
            else { throw APIError.notFound("twin not found") }
            let inserted = try await connection.execute(
                """
                INSERT INTO registry.relationship (from_id, type, to_id, source) VALUES ($1, $2, $3, 'api')
                ON CONFLICT DO NOTHING
                """, [edge.from, edge.type, edge.to])
            if inserted > 0 {
                try await EventOutbox.append(
                    [
                        OutboxEvent(
                            tenant: try row.decode(String.self, at: 0), type: "relationship.update",
                            payload: Self.payload(edge, op: "add"), actor: actor)
                    ], on: connection)
            }
            return inserted > 0
        }
        return try RequestJSON.response(Self.payload(edge, op: "add"), status: created ? .created : .ok)
    }

    @Sendable func remove(_ request: Request, context: RegistryContext) async throws -> Response {
        let edge = try Self.edge(from: try await RequestJSON.read(request, limit: maxBodyBytes))
        let actor = context.caller
        try await pool.transaction { connection in
            let deleted = try await connection.execute(
                "DELETE FROM registry.relationship WHERE from_id = $1 AND type = $2 AND to_id = $3 AND source = 'api'",
                [edge.from, edge.type, edge.to])
            guard deleted > 0 else { throw APIError.notFound("relationship not found") }
            let tenant = try await connection.query("SELECT tenant FROM registry.twin WHERE id = $1", [edge.from])
                .first.map { try $0.decode(String.self, at: 0) } ?? "demo"
            try await EventOutbox.append(
                [OutboxEvent(tenant: tenant, type: "relationship.update", payload: Self.payload(edge, op: "remove"), actor: actor)],
                on: connection)
        }
        return try RequestJSON.response(["ok": true])
    }

    @Sendable func list(_ request: Request, context: RegistryContext) async throws -> Response {
        let twin = request.uri.queryParameters["twin"].map(String.init)
        let rows = try await pool.query(
            """
            SELECT jsonb_build_object('from', from_id, 'type', type, 'to', to_id, 'source', source)::text
            FROM registry.relationship WHERE ($1::text IS NULL OR from_id = $1 OR to_id = $1)
            ORDER BY from_id, type, to_id, source
            """, [twin])
        return RequestJSON.arrayResponse(try rows.map { try $0.decode(String.self, at: 0) })
    }

    /// Walks the edges from the twin, at most `depth` steps; a node already on the path is not entered
    /// again, so cycles end the walk instead of looping.
    @Sendable func graph(_ request: Request, context: RegistryContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let query = request.uri.queryParameters
        let direction = query["direction"].map(String.init) ?? "out"
        let edges: String
        switch direction {
        case "out": edges = "SELECT from_id AS here, to_id AS there FROM registry.relationship"
        case "in": edges = "SELECT to_id AS here, from_id AS there FROM registry.relationship"
        case "both":
            edges = """
                SELECT from_id AS here, to_id AS there FROM registry.relationship
                UNION SELECT to_id, from_id FROM registry.relationship
                """
        default: throw APIError.badRequest("direction: must be out, in or both")
        }
        var depth = 3
        if let text = query["depth"] {
            guard let value = Int(text), (1...Self.maxDepth).contains(value) else {
                throw APIError.badRequest("depth: must be a whole number from 1 to \(Self.maxDepth)")
            }
            depth = value
        }
        guard try await pool.query("SELECT 1 FROM registry.twin WHERE id = $1", [id]).first != nil else {
            throw APIError.notFound("twin not found")
        }
        let nodes = try await pool.query(
            """
            WITH RECURSIVE edges AS (\(edges)),
            walk(node, depth, path) AS (
                SELECT $1::text, 0, ARRAY[$1::text]
                UNION ALL
                SELECT e.there, w.depth + 1, w.path || e.there
                FROM walk w JOIN edges e ON e.here = w.node
                WHERE w.depth < $2 AND NOT e.there = ANY(w.path)
            )
            SELECT node, min(depth) AS depth FROM walk GROUP BY node ORDER BY min(depth), node
            """, [id, depth])
        let ids = try nodes.map { try $0.decode(String.self, at: 0) }
        let edgeRows = try await pool.query(
            """
            SELECT DISTINCT from_id, type, to_id FROM registry.relationship
            WHERE from_id = ANY($1::text[]) AND to_id = ANY($1::text[]) ORDER BY from_id, type, to_id
            """, [ids])
        let result: JSONValue = [
            "root": .string(id), "direction": .string(direction), "depth": .int(depth),
            "nodes": .array(
                try nodes.map {
                    ["twin_id": .string(try $0.decode(String.self, at: 0)), "depth": .int(try $0.decode(Int.self, at: 1))]
                }),
            "edges": .array(
                try edgeRows.map {
                    [
                        "from": .string(try $0.decode(String.self, at: 0)), "type": .string(try $0.decode(String.self, at: 1)),
                        "to": .string(try $0.decode(String.self, at: 2)),
                    ]
                }),
        ]
        return try RequestJSON.response(result)
    }

    static func payload(_ edge: Edge, op: String) -> JSONValue {
        ["from": .string(edge.from), "type": .string(edge.type), "to": .string(edge.to), "op": .string(op)]
    }
}
