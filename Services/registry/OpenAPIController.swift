import DTPModel
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// `GET /openapi.json`: the registry's OpenAPI 3.1 document. A test checks that it lists every route the
/// router serves, so the two cannot drift apart.
struct OpenAPIController: Sendable {
    /// One documented operation.
    struct Operation: Sendable {
        var method: String
        var path: String
        var summary: String
        var authenticated = true
        var parameters: [String] = []
        var hasBody = false
        /// A raw byte body (`application/octet-stream`) instead of a JSON object.
        var binaryBody = false
        /// Answers beyond 200/400/401/404, by status code.
        var responses: [String: String] = [:]
    }

    static let operations: [Operation] = [
        Operation(method: "get", path: "/healthz", summary: "Liveness", authenticated: false),
        Operation(method: "get", path: "/readyz", summary: "Readiness: Postgres answers", authenticated: false),
        Operation(method: "get", path: "/metrics", summary: "Prometheus metrics", authenticated: false),
        Operation(method: "get", path: "/openapi.json", summary: "This document", authenticated: false),
        Operation(
            method: "get", path: "/api/registry/public/twins", summary: "Public fields of every twin",
            authenticated: false, parameters: ["tenant"]),
        Operation(
            method: "get", path: "/api/registry/twins", summary: "List twins (cursor pagination, Link rel=next)",
            parameters: ["tenant", "status", "domain", "updated_since", "q", "limit", "cursor"]),
        Operation(method: "post", path: "/api/registry/twins", summary: "Upsert a twin (201 new, 200 existing)", hasBody: true),
        Operation(method: "post", path: "/api/registry/twins/bulk", summary: "Upsert up to 1,000 twins", hasBody: true),
        Operation(method: "get", path: "/api/registry/twins/{id}", summary: "One twin"),
        Operation(method: "patch", path: "/api/registry/twins/{id}", summary: "Change a twin", hasBody: true),
        Operation(method: "delete", path: "/api/registry/twins/{id}", summary: "Delete a twin", parameters: ["soft"]),
        Operation(method: "get", path: "/api/registry/twins/{id}/history", summary: "A twin's revisions"),
        Operation(
            method: "get", path: "/api/registry/twins/{id}/graph", summary: "Related twins",
            parameters: ["direction", "depth"]),
        Operation(
            method: "get", path: "/api/registry/events", summary: "Change stream (SSE)",
            parameters: ["tenant", "types", "since"]),
        Operation(method: "post", path: "/api/registry/services", summary: "Register a service", hasBody: true),
        Operation(method: "get", path: "/api/registry/services", summary: "List services", parameters: ["tenant", "category"]),
        Operation(method: "get", path: "/api/registry/services/list", summary: "List services", parameters: ["scope"]),
        Operation(method: "get", path: "/api/registry/services/{id}", summary: "One service"),
        Operation(method: "patch", path: "/api/registry/services/{id}", summary: "Change a service", hasBody: true),
        Operation(method: "delete", path: "/api/registry/services/{id}", summary: "Delete a service"),
        Operation(method: "get", path: "/api/registry/relationships", summary: "List relationships", parameters: ["twin"]),
        Operation(method: "post", path: "/api/registry/relationships", summary: "Add a relationship", hasBody: true),
        Operation(method: "delete", path: "/api/registry/relationships", summary: "Remove a relationship", hasBody: true),
        Operation(
            method: "get", path: "/api/registry/twins/{id}/artifacts", summary: "A twin's artifact manifests",
            responses: ["503": "Artifact storage is not configured or unavailable"]),
        Operation(
            method: "put", path: "/api/registry/twins/{id}/artifacts/{name}",
            summary: "Store an artifact (body streamed to S3; Content-Length required)", binaryBody: true,
            responses: [
                "201": "Stored", "411": "Content-Length missing", "413": "Larger than DTP_REGISTRY_MAX_ARTIFACT_BYTES",
                "502": "S3 refused the upload", "503": "Artifact storage is not configured or unavailable",
            ]),
        Operation(
            method: "get", path: "/api/registry/twins/{id}/artifacts/{name}",
            summary: "Redirect (302) to a presigned download URL",
            responses: ["302": "Location: a presigned GET URL", "503": "Artifact storage is not configured"]),
        Operation(
            method: "delete", path: "/api/registry/twins/{id}/artifacts/{name}", summary: "Delete an artifact",
            responses: [
                "502": "S3 refused the deletion", "503": "Artifact storage is not configured or unavailable",
            ]),
    ]

    static func document() -> JSONValue {
        var paths: [String: JSONValue] = [:]
        for operation in operations {
            var parameters: [JSONValue] = operation.parameters.map {
                ["name": .string($0), "in": "query", "required": false, "schema": ["type": "string"]]
            }
            var index = operation.path.startIndex
            while let open = operation.path[index...].firstIndex(of: "{"),
                let close = operation.path[open...].firstIndex(of: "}")
            {
                let name = String(operation.path[operation.path.index(after: open)..<close])
                parameters.append(["name": .string(name), "in": "path", "required": true, "schema": ["type": "string"]])
                index = close
            }
            var entry: [String: JSONValue] = [
                "summary": .string(operation.summary),
                "parameters": .array(parameters),
                "responses": [
                    "200": ["description": "OK"],
                    "400": ["description": "Bad request", "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]]],
                    "401": ["description": "Unauthenticated"],
                    "404": ["description": "Not found"],
                ],
            ]
            if case .object(var responses) = entry["responses"] {
                for (status, description) in operation.responses {
                    responses[status] = ["description": .string(description)]
                }
                entry["responses"] = .object(responses)
            }
            if operation.binaryBody {
                entry["requestBody"] = [
                    "required": true,
                    "content": ["application/octet-stream": ["schema": ["type": "string", "format": "binary"]]],
                ]
            } else if operation.hasBody {
                entry["requestBody"] = ["content": ["application/json": ["schema": ["type": "object"]]]]
            }
            if !operation.authenticated { entry["security"] = [] }
            var item = paths[operation.path]?.objectValue ?? [:]
            item[operation.method] = .object(entry)
            paths[operation.path] = .object(item)
        }
        return [
            "openapi": "3.1.0",
            "info": ["title": "DTP registry", "version": "1.0.0"],
            "paths": .object(paths),
            "security": [["bearer": []]],
            "components": [
                "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer", "bearerFormat": "JWT or service token"]],
                "schemas": ["Error": ["type": "object", "properties": ["detail": ["type": "string"]]]],
            ],
        ]
    }

    func addRoutes(to router: Router<RegistryContext>) {
        let text = (try? Self.document().jsonText()) ?? "{}"
        router.get("openapi.json") { _, _ in RequestJSON.response(text) }
    }
}
