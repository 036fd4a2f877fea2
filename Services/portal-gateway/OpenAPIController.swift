import DTPModel
import Foundation
import HTTPTypes
import Hummingbird

/// `GET /openapi.json`: the gateway's OpenAPI 3.1 document. A test checks that it lists every route the
/// router serves, so the two cannot drift apart.
struct OpenAPIController: Sendable {
    struct Operation: Sendable {
        var method: String
        var path: String
        var summary: String
        var authenticated = true
        var parameters: [String] = []
        var hasBody = false
        var binaryBody = false
        var responses: [String: String] = [:]
    }

    static let operations: [Operation] = [
        Operation(method: "get", path: "/healthz", summary: "Liveness", authenticated: false),
        Operation(method: "get", path: "/readyz", summary: "Readiness: Postgres answers", authenticated: false),
        Operation(method: "get", path: "/metrics", summary: "Prometheus metrics", authenticated: false),
        Operation(method: "get", path: "/openapi.json", summary: "This document", authenticated: false),
        Operation(
            method: "post", path: "/api/token", summary: "Log in: {username, password} -> {access, refresh}",
            authenticated: false, hasBody: true, responses: ["429": "Too many failed logins (Retry-After)"]),
        Operation(
            method: "post", path: "/api/token/refresh", summary: "Rotate a refresh token -> {access, refresh}",
            authenticated: false, hasBody: true),
        Operation(method: "post", path: "/api/logout", summary: "Revoke the session", hasBody: true),
        Operation(method: "get", path: "/api/me", summary: "The signed-in user"),
        Operation(method: "get", path: "/api/me/twins", summary: "The user's portal cards"),
        Operation(method: "post", path: "/api/portal/stream-ticket", summary: "A one-time ticket for the stream"),
        Operation(
            method: "get", path: "/api/portal/stream", summary: "Live portal events (SSE)",
            parameters: ["tenant", "ticket", "last_event_id"]),
        Operation(method: "get", path: "/api/healthz", summary: "Gateway and service health", authenticated: false),
        Operation(method: "get", path: "/api/last-data/my", summary: "When the user's twins last sent data"),
        Operation(method: "get", path: "/api/last-data/cached", summary: "Last data, from the cache"),
        Operation(method: "get", path: "/api/admin/users", summary: "Users (staff)"),
        Operation(method: "post", path: "/api/admin/users", summary: "Create a user (staff)", hasBody: true),
        Operation(method: "delete", path: "/api/admin/users", summary: "Delete a user (staff)", hasBody: true),
        Operation(method: "get", path: "/api/admin/twins", summary: "Portal cards (staff)"),
        Operation(method: "post", path: "/api/admin/twins", summary: "Create a card (staff)", hasBody: true),
        Operation(method: "delete", path: "/api/admin/twins", summary: "Delete a card (staff)", hasBody: true),
        Operation(method: "get", path: "/api/admin/grants", summary: "Twin grants (staff)"),
        Operation(method: "post", path: "/api/admin/grants", summary: "Grant a twin (staff)", hasBody: true),
        Operation(method: "delete", path: "/api/admin/grants", summary: "Revoke a twin (staff)", hasBody: true),
        Operation(method: "get", path: "/api/admin/service-grants", summary: "Service grants (staff)"),
        Operation(method: "post", path: "/api/admin/service-grants", summary: "Grant a service (staff)", hasBody: true),
        Operation(
            method: "delete", path: "/api/admin/service-grants", summary: "Revoke a service (staff)", hasBody: true),
        Operation(
            method: "post", path: "/api/admin/scan", summary: "Ask discovery to rescan (staff)",
            responses: ["502": "Discovery unreachable"]),
        Operation(
            method: "get", path: "/api/registry/public/twins", summary: "Public fields of every twin",
            authenticated: false, parameters: ["tenant"]),
        Operation(
            method: "get", path: "/api/registry/twins", summary: "Twins the user may see",
            parameters: ["scope", "tenant", "status", "domain", "updated_since", "q", "limit", "cursor"]),
        Operation(method: "post", path: "/api/registry/twins", summary: "Upsert a twin (staff)", hasBody: true),
        Operation(method: "post", path: "/api/registry/twins/bulk", summary: "Bulk upsert (staff)", hasBody: true),
        Operation(method: "get", path: "/api/registry/twins/{id}", summary: "One granted twin"),
        Operation(method: "patch", path: "/api/registry/twins/{id}", summary: "Change a twin (staff)", hasBody: true),
        Operation(
            method: "delete", path: "/api/registry/twins/{id}", summary: "Delete a twin (staff)", parameters: ["soft"]),
        Operation(method: "get", path: "/api/registry/twins/{id}/history", summary: "A granted twin's revisions"),
        Operation(
            method: "get", path: "/api/registry/twins/{id}/graph", summary: "Related twins the user may see",
            parameters: ["direction", "depth"]),
        Operation(method: "get", path: "/api/registry/twins/{id}/artifacts", summary: "A granted twin's artifacts"),
        Operation(
            method: "get", path: "/api/registry/twins/{id}/artifacts/{name}", summary: "302 to an artifact",
            responses: ["302": "Redirect to a presigned URL"]),
        Operation(
            method: "put", path: "/api/registry/twins/{id}/artifacts/{name}", summary: "Upload an artifact (staff)",
            binaryBody: true, responses: ["411": "Content-Length required", "413": "Too large"]),
        Operation(method: "delete", path: "/api/registry/twins/{id}/artifacts/{name}", summary: "Delete (staff)"),
        Operation(method: "get", path: "/api/registry/my/twins", summary: "The user's granted twins"),
        Operation(method: "get", path: "/api/registry/my/services", summary: "The services the user may see"),
        Operation(
            method: "get", path: "/api/registry/services", summary: "Services the user may see",
            parameters: ["tenant", "category"]),
        Operation(method: "get", path: "/api/registry/services/list", summary: "Services", parameters: ["scope"]),
        Operation(method: "get", path: "/api/registry/services/{id}", summary: "One service"),
        Operation(method: "post", path: "/api/registry/services", summary: "Register a service (staff)", hasBody: true),
        Operation(
            method: "patch", path: "/api/registry/services/{id}", summary: "Change a service (staff)", hasBody: true),
        Operation(method: "delete", path: "/api/registry/services/{id}", summary: "Delete a service (staff)"),
        Operation(
            method: "get", path: "/api/registry/relationships", summary: "Relationships between visible twins",
            parameters: ["twin"]),
        Operation(method: "post", path: "/api/registry/relationships", summary: "Add (staff)", hasBody: true),
        Operation(method: "delete", path: "/api/registry/relationships", summary: "Remove (staff)", hasBody: true),
    ]

    static func document() -> JSONValue {
        var paths: [String: JSONValue] = [:]
        for operation in operations {
            var parameters: [JSONValue] = []
            for segment in operation.path.split(separator: "/") where segment.hasPrefix("{") {
                parameters.append([
                    "name": .string(String(segment.dropFirst().dropLast())), "in": "path", "required": true,
                    "schema": ["type": "string"],
                ])
            }
            for name in operation.parameters {
                parameters.append(["name": .string(name), "in": "query", "required": false, "schema": ["type": "string"]])
            }
            var responses: [String: JSONValue] = [
                "200": ["description": "OK"],
                "400": ["description": "Bad request", "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]]],
            ]
            if operation.authenticated {
                responses["401"] = ["description": "Not authenticated"]
                responses["403"] = ["description": "Not allowed"]
                responses["404"] = ["description": "Not found or not granted"]
            }
            for (code, text) in operation.responses { responses[code] = ["description": .string(text)] }
            var item: [String: JSONValue] = [
                "summary": .string(operation.summary), "parameters": .array(parameters), "responses": .object(responses),
            ]
            if !operation.authenticated { item["security"] = [] }
            if operation.hasBody {
                item["requestBody"] = ["content": ["application/json": ["schema": ["type": "object"]]]]
            }
            if operation.binaryBody {
                item["requestBody"] = [
                    "required": true,
                    "content": ["application/octet-stream": ["schema": ["type": "string", "format": "binary"]]],
                ]
            }
            var methods = paths[operation.path]?.objectValue ?? [:]
            methods[operation.method] = .object(item)
            paths[operation.path] = .object(methods)
        }
        return [
            "openapi": "3.1.0",
            "info": ["title": "DTP portal gateway", "version": "1.0.0"],
            "paths": .object(paths),
            "security": [["bearer": []]],
            "components": [
                "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer", "bearerFormat": "JWT"]],
                "schemas": ["Error": ["type": "object", "properties": ["detail": ["type": "string"]]]],
            ],
        ]
    }

    func addRoutes(to router: Router<GatewayContext>) {
        let text = (try? Self.document().jsonText()) ?? "{}"
        router.get("openapi.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }
    }
}
