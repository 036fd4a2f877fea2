import DTPModel
import DTPPostgres
import DTPServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// `/api/registry/services`: the companion service registry, an upsert by (tenant, name).
struct ServiceController: Sendable {
    let pool: PostgresPool
    let maxBodyBytes: Int

    func addRoutes(to group: RouterGroup<RegistryContext>) {
        group.post("services", use: register)
        group.get("services", use: list)
        group.get("services/list", use: scopedList)
        group.get("services/{id}", use: get)
        group.patch("services/{id}", use: patch)
        group.delete("services/{id}", use: delete)
    }

    /// Reads and checks a service body: `category` and `interfaces` are required, as before.
    static func service(from json: JSONValue, id: String? = nil) throws(APIError) -> Service {
        guard case .object(let object) = json else { throw APIError.badRequest("body must be a JSON object") }
        let missing = ["category", "interfaces"].filter { object[$0] == nil || object[$0] == .null }
        if !missing.isEmpty { throw APIError.badRequest("missing: " + missing.joined(separator: ", ")) }
        guard case .string(let categoryName)? = object["category"], let category = ServiceCategory(rawValue: categoryName)
        else {
            let allowed = ServiceCategory.allCases.map(\.rawValue).joined(separator: ", ")
            throw APIError.unprocessable("category: must be one of \(allowed)")
        }
        guard case .object(let interfaces)? = object["interfaces"] else {
            throw APIError.unprocessable("interfaces: must be an object")
        }
        func string(_ key: String) throws(APIError) -> String? {
            switch object[key] {
            case nil, .null?: return nil
            case .string(let value)?: return value
            default: throw APIError.unprocessable("\(key): must be a string")
            }
        }
        let name = try string("name") ?? ""
        guard name.count <= 200 else { throw APIError.unprocessable("name: at most 200 characters") }
        return Service(
            id: id, name: name, tenant: try string("tenant") ?? "demo", category: category, interfaces: interfaces,
            health: object["health"] ?? .null, twinRef: try string("twin_ref"))
    }

    @Sendable func register(_ request: Request, context: RegistryContext) async throws -> Response {
        let service = try Self.service(from: try await RequestJSON.read(request, limit: maxBodyBytes))
        let (stored, created) = try await save(service, actor: context.caller, byName: true)
        return try RequestJSON.response(stored, status: created ? .created : .ok)
    }

    @Sendable func list(_ request: Request, context: RegistryContext) async throws -> Response {
        let query = request.uri.queryParameters
        let tenant = query["tenant"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        let category = query["category"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        return RequestJSON.arrayResponse(try await docs(tenant: tenant, category: category))
    }

    /// `GET /api/registry/services/list?scope=mine|all`: per-user grants are the gateway's, which filters
    /// this list; the registry answers every service to its trusted callers.
    @Sendable func scopedList(_ request: Request, context: RegistryContext) async throws -> Response {
        let scope = request.uri.queryParameters["scope"].map(String.init) ?? "mine"
        guard scope == "mine" || scope == "all" else { throw APIError.badRequest("scope: must be mine or all") }
        return RequestJSON.arrayResponse(try await docs(tenant: nil, category: nil))
    }

    @Sendable func get(_ request: Request, context: RegistryContext) async throws -> Response {
        let id = try Self.uuid(context)
        guard let row = try await pool.query("SELECT doc::text FROM registry.service WHERE id = $1", [id]).first else {
            throw APIError.notFound("service not found")
        }
        return RequestJSON.response(try row.decode(String.self, at: 0))
    }

    @Sendable func patch(_ request: Request, context: RegistryContext) async throws -> Response {
        let id = try Self.uuid(context)
        let body = try await RequestJSON.read(request, limit: maxBodyBytes)
        guard case .object(let fields) = body else { throw APIError.badRequest("body must be a JSON object") }
        guard let row = try await pool.query("SELECT doc::text FROM registry.service WHERE id = $1", [id]).first else {
            throw APIError.notFound("service not found")
        }
        guard case .object(var current) = try JSONValue(jsonText: try row.decode(String.self, at: 0)) else {
            throw APIError.notFound("service not found")
        }
        for key in ["name", "tenant", "category", "interfaces", "health", "twin_ref"] {
            if let value = fields[key] { current[key] = value }
        }
        let service = try Self.service(from: .object(current), id: id.uuidString.lowercased())
        let (stored, _) = try await save(service, actor: context.caller, byName: false)
        return try RequestJSON.response(stored)
    }

    @Sendable func delete(_ request: Request, context: RegistryContext) async throws -> Response {
        let id = try Self.uuid(context)
        let actor = context.caller
        try await pool.transaction { connection in
            guard
                let row = try await connection.query(
                    "DELETE FROM registry.service WHERE id = $1 RETURNING tenant", [id]
                ).first
            else { throw APIError.notFound("service not found") }
            try await EventOutbox.append(
                [
                    OutboxEvent(
                        tenant: try row.decode(String.self, at: 0), type: .serviceDelete,
                        payload: ["id": .string(id.uuidString.lowercased())], actor: actor)
                ], on: connection)
        }
        return try RequestJSON.response(["ok": true])
    }

    /// Inserts or updates; `byName` upserts on (tenant, name), otherwise the id decides.
    private func save(_ service: Service, actor: String, byName: Bool) async throws -> (JSONValue, Bool) {
        try await pool.transaction { connection in
            var service = service
            var created = false
            if byName {
                let existing = try await connection.query(
                    "SELECT id FROM registry.service WHERE tenant = $1 AND name = $2 FOR UPDATE",
                    [service.tenant, service.name]
                ).first
                if let existing {
                    service.id = try existing.decode(UUID.self, at: 0).uuidString.lowercased()
                } else {
                    service.id = UUID().uuidString.lowercased()
                    created = true
                }
            }
            let doc = try JSONValue(jsonText: String(decoding: try JSONEncoder().encode(service), as: UTF8.self))
            let text = try doc.jsonText()
            do {
                try await connection.execute(
                    """
                    INSERT INTO registry.service (id, tenant, name, category, doc, updated_by)
                    VALUES ($1::uuid, $2, $3, $4, $5::jsonb, $6)
                    ON CONFLICT (id) DO UPDATE SET tenant = $2, name = $3, category = $4, doc = $5::jsonb,
                        updated_at = now(), updated_by = $6
                    """, [service.id!, service.tenant, service.name, service.category.rawValue, text, actor])
            } catch let error as PostgresError where error.sqlState == "23505" {
                throw APIError.conflict("a service named '\(service.name)' exists in tenant \(service.tenant)")
            }
            try await EventOutbox.append(
                [OutboxEvent(tenant: service.tenant, type: .serviceUpdate, payload: doc, actor: actor)], on: connection)
            return (doc, created)
        }
    }

    private func docs(tenant: String?, category: String?) async throws -> [String] {
        try await pool.query(
            """
            SELECT doc::text FROM registry.service
            WHERE ($1::text IS NULL OR tenant = $1) AND ($2::text IS NULL OR category = $2)
            ORDER BY tenant, name
            """, [tenant, category]
        ).map { try $0.decode(String.self, at: 0) }
    }

    private static func uuid(_ context: RegistryContext) throws -> UUID {
        guard let id = UUID(uuidString: try context.parameters.require("id")) else {
            throw APIError.notFound("service not found")
        }
        return id
    }
}
