import DTPModel
import DTPServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// `/api/registry/twins`: upsert, read, list, patch, delete, bulk, history; and the public list.
struct TwinController<Store: TwinStore>: Sendable {
    let store: Store
    let maxBodyBytes: Int
    let maxBulkBytes: Int

    /// The largest page a client may ask for, and the page size when it asks for none.
    static var maxPageSize: Int { 10_000 }

    func addRoutes(to group: RouterGroup<RegistryContext>) {
        group.post("twins", use: upsert)
        group.get("twins", use: list)
        group.post("twins/bulk", use: bulk)
        group.get("twins/{id}", use: get)
        group.patch("twins/{id}", use: patch)
        group.delete("twins/{id}", use: delete)
        group.get("twins/{id}/history", use: history)
    }

    func addPublicRoutes(to router: Router<RegistryContext>) {
        router.get("api/registry/public/twins") { request, _ in
            RequestJSON.arrayResponse(try await store.publicList(tenant: request.uri.queryParameters["tenant"].map(String.init)))
        }
    }

    @Sendable func upsert(_ request: Request, context: RegistryContext) async throws -> Response {
        let draft = try TwinDraft(json: try await RequestJSON.read(request, limit: maxBodyBytes))
        let precondition = WritePrecondition(
            ifMatch: request.headers[.ifMatch], ifNoneMatch: request.headers[.ifNoneMatch])
        let result = try await store.upsert(draft, precondition: precondition, actor: context.caller)
        return RequestJSON.response(
            result.json, status: result.created ? .created : .ok, headers: [.eTag: result.twin.etag])
    }

    @Sendable func get(_ request: Request, context: RegistryContext) async throws -> Response {
        let id = try context.parameters.require("id")
        guard let found = try await store.twinBody(id: id) else { throw APIError.notFound("twin not found") }
        if let ifNoneMatch = request.headers[.ifNoneMatch], ifNoneMatch.contains(found.etag) {
            return Response(status: .notModified, headers: [.eTag: found.etag])
        }
        return Response(
            status: .ok, headers: [.contentType: RequestJSON.contentType, .eTag: found.etag],
            body: .init(byteBuffer: found.body))
    }

    @Sendable func list(_ request: Request, context: RegistryContext) async throws -> Response {
        let query = request.uri.queryParameters
        func value(_ key: String) -> String? { query[Substring(key)].map(String.init).flatMap { $0.isEmpty ? nil : $0 } }
        var filter = TwinFilter(
            tenant: value("tenant"), status: value("status"), domain: value("domain"), query: value("q"))
        if let status = filter.status, LifecycleStatus(rawValue: status) == nil {
            throw APIError.badRequest(
                "status: '\(status)' is not one of \(LifecycleStatus.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let since = value("updated_since") {
            guard let timestamp = Timestamp(iso8601: since) else {
                throw APIError.badRequest("updated_since: '\(since)' is not an ISO 8601 timestamp")
            }
            filter.updatedSince = timestamp
        }
        var limit = Self.maxPageSize
        if let text = value("limit") {
            guard let number = Int(text), (1...Self.maxPageSize).contains(number) else {
                throw APIError.badRequest("limit: must be a whole number from 1 to \(Self.maxPageSize)")
            }
            limit = number
        }
        var after: String?
        if let cursor = value("cursor") {
            guard let decoded = Cursor.decode(cursor) else { throw APIError.badRequest("cursor: not a valid cursor") }
            after = decoded
        }
        let page = try await store.list(filter, limit: limit, after: after)
        var headers: HTTPFields = [:]
        if let next = page.nextAfter {
            var items = query.filter { $0.key != "cursor" }.map { "\($0.key)=\(Cursor.percentEncode(String($0.value)))" }
            items.append("cursor=\(Cursor.encode(next))")
            headers[.link] = "<\(request.uri.path)?\(items.joined(separator: "&"))>; rel=\"next\""
        }
        return RequestJSON.arrayResponse(body: page.body, headers: headers)
    }

    @Sendable func patch(_ request: Request, context: RegistryContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let body = try await RequestJSON.read(request, limit: maxBodyBytes)
        guard case .object(let fields) = body else { throw APIError.badRequest("body must be a JSON object") }
        let mergePatch = request.headers[.contentType]?.lowercased().hasPrefix("application/merge-patch+json") ?? false
        let precondition = WritePrecondition(ifMatch: request.headers[.ifMatch], ifNoneMatch: nil)
        let updated = try await store.update(id: id, precondition: precondition, actor: context.caller) { current in
            let base = TwinDraft(current).jsonValue
            var patched: JSONValue
            if mergePatch {
                patched = JSONMergePatch.apply(body, to: base)
            } else {
                // The earlier API: each top-level field present replaces that field whole.
                guard case .object(var object) = base else { return TwinDraft(current) }
                for key in ["tenant", "metadata", "interfaces", "dependencies"] {
                    if let value = fields[key] { object[key] = value }
                }
                patched = .object(object)
            }
            if case .object(var object) = patched {
                object["@id"] = object["@id"] ?? .string(current.id)
                if let other = object["twin_id"], other != object["@id"] {
                    throw APIError.unprocessable("@id: cannot be changed")
                }
                object["twin_id"] = nil
                patched = .object(object)
            }
            return try TwinDraft(json: patched)
        }
        return RequestJSON.response(updated.json, headers: [.eTag: updated.twin.etag])
    }

    @Sendable func delete(_ request: Request, context: RegistryContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let soft = request.uri.queryParameters["soft"].map { ["true", "1", "yes"].contains($0.lowercased()) } ?? false
        let precondition = WritePrecondition(ifMatch: request.headers[.ifMatch], ifNoneMatch: nil)
        try await store.delete(id: id, soft: soft, precondition: precondition, actor: context.caller)
        return try RequestJSON.response(["ok": true])
    }

    @Sendable func history(_ request: Request, context: RegistryContext) async throws -> Response {
        let id = try context.parameters.require("id")
        guard let entries = try await store.history(id: id) else { throw APIError.notFound("twin not found") }
        return RequestJSON.arrayResponse(entries)
    }

    /// `POST /api/registry/twins/bulk`: `[twin, ...]` or `{"twins": [...]}`, at most 1,000, in one
    /// transaction; answers `{"results": [{"@id", "status", "version"?, "detail"?}], "created", "updated",
    /// "failed"}`.
    @Sendable func bulk(_ request: Request, context: RegistryContext) async throws -> Response {
        let body = try await RequestJSON.read(request, limit: maxBulkBytes)
        let items: [JSONValue]
        switch body {
        case .array(let array): items = array
        case .object(let object):
            guard case .array(let array)? = object["twins"] else { throw APIError.badRequest("twins: list required") }
            items = array
        default: throw APIError.badRequest("body must be a list of twins")
        }
        guard items.count <= 1000 else {
            throw APIError.contentTooLarge("at most 1000 twins per bulk request; got \(items.count)")
        }
        let drafts = items.map { item in Result { () throws(APIError) in try TwinDraft(json: item) } }
        let results = try await store.bulkUpsert(drafts, actor: context.caller)
        var created = 0
        var updated = 0
        var failed = 0
        var entries: [JSONValue] = []
        for (index, result) in results.enumerated() {
            let id = items[index]["@id"] ?? items[index]["twin_id"] ?? .null
            switch result {
            case .success(let upsert):
                if upsert.created { created += 1 } else { updated += 1 }
                entries.append([
                    "@id": .string(upsert.twin.id), "status": .int(upsert.created ? 201 : 200),
                    "version": .int(upsert.twin.version), "etag": .string(upsert.twin.etag),
                ])
            case .failure(let error):
                failed += 1
                entries.append(["@id": id, "status": .int(Int(error.status.code)), "detail": .string(error.detail)])
            }
        }
        return try RequestJSON.response([
            "results": .array(entries), "created": .int(created), "updated": .int(updated), "failed": .int(failed),
        ])
    }
}

/// Opaque pagination cursors: the last id of a page, base64url-encoded.
enum Cursor {
    static func encode(_ id: String) -> String {
        Data(id.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ text: String) -> String? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64) else { return nil }
        return String(data: data, encoding: .utf8)
    }

    static func percentEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~:")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

extension HTTPField.Name {
    /// `Link`, for the next page.
    static let link = HTTPField.Name("Link")!
}
