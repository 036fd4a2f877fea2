import DTPHTTP
import DTPModel
import DTPServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// `/api/registry/...` through the gateway: the registry's answers (status, body, `ETag`, `Link`,
/// `Location`) for what the user may see, with the gateway's own service token upstream.
///
/// Reads need a grant of the twin (staff see everything); a twin the user may not see is a 404, as if it
/// did not exist. Lists are filtered. Writes need staff. `scope=all` is honoured for staff only, as before.
struct RegistryProxy: Sendable {
    let registry: Upstream
    let index: AccessIndex
    let maxBodyBytes: Int
    let maxArtifactBytes: Int

    func addRoutes(to router: Router<GatewayContext>) {
        let api = router.group("api/registry")
        api.get("public/twins", use: publicTwins)
        api.get("twins", use: listTwins)
        api.post("twins", use: staffWrite)
        api.post("twins/bulk", use: staffWrite)
        api.get("twins/{id}", use: twinRead)
        api.patch("twins/{id}", use: staffWrite)
        api.delete("twins/{id}", use: staffWrite)
        api.get("twins/{id}/history", use: twinRead)
        api.get("twins/{id}/graph", use: graph)
        api.get("twins/{id}/artifacts", use: twinRead)
        api.get("twins/{id}/artifacts/{name}", use: twinRead)
        api.put("twins/{id}/artifacts/{name}", use: artifactUpload)
        api.delete("twins/{id}/artifacts/{name}", use: staffWrite)
        api.get("my/twins", use: myTwins)
        api.get("my/services", use: myServices)
        api.get("services", use: listServices)
        api.get("services/list", use: listServices)
        api.get("services/{id}", use: serviceRead)
        api.post("services", use: staffWrite)
        api.patch("services/{id}", use: staffWrite)
        api.delete("services/{id}", use: staffWrite)
        api.get("relationships", use: relationships)
        api.post("relationships", use: staffWrite)
        api.delete("relationships", use: staffWrite)
    }

    // MARK: Reads

    @Sendable func publicTwins(_ request: Request, context: GatewayContext) async throws -> Response {
        try await forward(request, context: context, body: nil)
    }

    /// `GET /api/registry/twins?scope=mine|all&tenant=&status=&domain=&limit=&cursor=`.
    @Sendable func listTwins(_ request: Request, context: GatewayContext) async throws -> Response {
        let user = try context.requireUser()
        let scope = request.uri.queryParameters["scope"].map(String.init) ?? "mine"
        guard scope == "mine" || scope == "all" else { throw APIError.badRequest("scope: must be mine or all") }
        let response = try await fetch(request, context: context, dropQuery: ["scope"])
        if scope == "all" && user.isStaff { return relay(response) }
        let granted = index.snapshot.grantedTwins(of: user)
        return filterArray(response) { item in
            (item["twin_id"]?.stringValue).map(granted.contains) ?? false
        }
    }

    /// Reads about one twin: the twin, its history, artifacts.
    @Sendable func twinRead(_ request: Request, context: GatewayContext) async throws -> Response {
        try requireTwin(context)
        return try await forward(request, context: context, body: nil)
    }

    /// The graph around a twin, without the twins the user may not see.
    @Sendable func graph(_ request: Request, context: GatewayContext) async throws -> Response {
        let user = try requireTwin(context)
        let response = try await fetch(request, context: context)
        guard !user.isStaff, response.status == 200, var body = try? JSONValue(jsonText: response.bodyText) else {
            return relay(response)
        }
        let snapshot = index.snapshot
        if case .object(var object) = body {
            let nodes = (object["nodes"]?.arrayValue ?? []).filter {
                $0["twin_id"]?.stringValue.map { snapshot.canSeeTwin($0, user: user) } ?? false
            }
            let visible = Set(nodes.compactMap { $0["twin_id"]?.stringValue })
            object["nodes"] = .array(nodes)
            object["edges"] = .array(
                (object["edges"]?.arrayValue ?? []).filter {
                    visible.contains($0["from"]?.stringValue ?? "") && visible.contains($0["to"]?.stringValue ?? "")
                })
            body = .object(object)
        }
        return JSONBody.response(body)
    }

    /// `GET /api/registry/my/twins`: the registry documents of the user's granted twins.
    @Sendable func myTwins(_ request: Request, context: GatewayContext) async throws -> Response {
        let user = try context.requireUser()
        let granted = index.snapshot.grantedTwins(of: user)
        let response = try await upstream(.get, "/api/registry/twins", context: context)
        return filterArray(response) { ($0["twin_id"]?.stringValue).map(granted.contains) ?? false }
    }

    /// `GET /api/registry/my/services`: the services the user may see.
    @Sendable func myServices(_ request: Request, context: GatewayContext) async throws -> Response {
        let user = try context.requireUser()
        let response = try await upstream(.get, "/api/registry/services", context: context)
        return filterServices(response, user: user)
    }

    /// `GET /api/registry/services` and `services/list?scope=mine|all`.
    @Sendable func listServices(_ request: Request, context: GatewayContext) async throws -> Response {
        let user = try context.requireUser()
        let scope = request.uri.queryParameters["scope"].map(String.init) ?? "mine"
        guard scope == "mine" || scope == "all" else { throw APIError.badRequest("scope: must be mine or all") }
        let response = try await fetch(request, context: context)
        if user.isStaff && (scope == "all" || request.uri.path.hasSuffix("/services")) { return relay(response) }
        return filterServices(response, user: user)
    }

    @Sendable func serviceRead(_ request: Request, context: GatewayContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try context.parameters.require("id").lowercased()
        let response = try await fetch(request, context: context)
        guard response.status == 200, !user.isStaff, let body = try? JSONValue(jsonText: response.bodyText) else {
            return relay(response)
        }
        guard index.snapshot.canSeeService(id, user: user) || Self.serviceVisible(body, to: user, in: index.snapshot)
        else { throw APIError.notFound("service not found") }
        return JSONBody.response(body)
    }

    /// `GET /api/registry/relationships?twin=`: edges between twins the user may see.
    @Sendable func relationships(_ request: Request, context: GatewayContext) async throws -> Response {
        let user = try context.requireUser()
        let response = try await fetch(request, context: context)
        if user.isStaff { return relay(response) }
        let snapshot = index.snapshot
        return filterArray(response) {
            snapshot.canSeeTwin($0["from"]?.stringValue ?? "", user: user)
                && snapshot.canSeeTwin($0["to"]?.stringValue ?? "", user: user)
        }
    }

    // MARK: Writes

    /// Twin, service and relationship writes: staff only, the body and preconditions passed on.
    @Sendable func staffWrite(_ request: Request, context: GatewayContext) async throws -> Response {
        _ = try context.requireStaff()
        var request = request
        let limit = request.uri.path.hasSuffix("/bulk") ? 16 * maxBodyBytes : maxBodyBytes
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw APIError.contentTooLarge("request body is larger than \(limit) bytes")
        }
        return try await forward(request, context: context, body: Data(buffer.readableBytesView))
    }

    /// `PUT .../artifacts/{name}`: staff only; the body is streamed to the registry as it arrives.
    @Sendable func artifactUpload(_ request: Request, context: GatewayContext) async throws -> Response {
        _ = try context.requireStaff()
        guard let lengthText = request.headers[.contentLength], let length = Int64(lengthText) else {
            throw APIError(.lengthRequired, "Content-Length is required")
        }
        guard length <= Int64(maxArtifactBytes) else {
            throw APIError.contentTooLarge("artifact is larger than \(maxArtifactBytes) bytes")
        }
        let body = request.body
        let (chunks, continuation) = AsyncThrowingStream<Data, any Error>.makeStream(bufferingPolicy: .bufferingOldest(4))
        let pump = Task {
            do {
                for try await buffer in body {
                    // Waits while curl has not taken the earlier chunks, so memory stays bounded.
                    while case .dropped = continuation.yield(Data(buffer.readableBytesView)) {
                        try await Task.sleep(for: .milliseconds(2))
                    }
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        defer { pump.cancel() }
        var upload = DTPHTTP.HTTPRequest(
            method: .put, url: registry.baseURL + Self.pathAndQuery(request), headers: forwardedHeaders(request, context))
        upload.headers.replaceOrAdd(name: "Content-Length", value: String(length))
        upload.upload = .stream(length: length) { chunks }
        let response: DTPHTTP.HTTPResponse
        do {
            response = try await registry.client.execute(upload)
        } catch {
            throw APIError(.badGateway, "registry is unreachable")
        }
        return relay(response)
    }

    // MARK: Helpers

    /// The user, once they may see the twin `{id}`: 404 otherwise, as if it did not exist.
    @discardableResult
    private func requireTwin(_ context: GatewayContext) throws -> User {
        let user = try context.requireUser()
        let id = try context.parameters.require("id")
        guard index.snapshot.canSeeTwin(id, user: user) else { throw APIError.notFound("twin not found") }
        return user
    }

    /// The path and query of `request` as the registry should see them.
    static func pathAndQuery(_ request: Request, dropQuery: Set<String> = []) -> String {
        var path = request.uri.path
        if path.count > 1, path.hasSuffix("/") { path.removeLast() }
        guard let query = request.uri.query, !query.isEmpty else { return path }
        let kept = query.split(separator: "&").filter { item in
            let key = item.split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
            return !dropQuery.contains(key)
        }
        return kept.isEmpty ? path : path + "?" + kept.joined(separator: "&")
    }

    private func forwardedHeaders(_ request: Request, _ context: GatewayContext) -> HTTPHeaders {
        var extra: [(String, String)] = [("X-Request-ID", context.id)]
        if let requestID = request.headers[.requestID] { extra[0].1 = requestID }
        for name in [HTTPField.Name.contentType, .ifMatch, .ifNoneMatch, .accept] {
            if let value = request.headers[name] { extra.append((name.rawName, value)) }
        }
        return registry.headers(extra)
    }

    private func forward(
        _ request: Request, context: GatewayContext, body: Data?, dropQuery: Set<String> = []
    ) async throws -> Response {
        relay(try await fetch(request, context: context, body: body, dropQuery: dropQuery))
    }

    private func fetch(
        _ request: Request, context: GatewayContext, body: Data? = nil, dropQuery: Set<String> = []
    ) async throws -> DTPHTTP.HTTPResponse {
        let method = HTTPMethod(rawValue: request.method.rawValue)
        let upstreamRequest = DTPHTTP.HTTPRequest(
            method: method, url: registry.baseURL + Self.pathAndQuery(request, dropQuery: dropQuery),
            headers: forwardedHeaders(request, context), body: body, connectTimeout: .seconds(3),
            timeout: .after(.seconds(60)))
        let response: DTPHTTP.HTTPResponse
        do {
            response = try await registry.client.execute(upstreamRequest)
        } catch {
            context.logger.warning("registry unreachable", metadata: ["error": "\(error)"])
            throw APIError(.badGateway, "registry is unreachable")
        }
        return response
    }

    private func upstream(_ method: HTTPMethod, _ path: String, context: GatewayContext) async throws
        -> DTPHTTP.HTTPResponse
    {
        do {
            return try await registry.send(method, path, headers: [("X-Request-ID", context.id)])
        } catch {
            throw APIError(.badGateway, "registry is unreachable")
        }
    }

    /// The registry's answer with its status, body and the headers a client needs.
    private func relay(_ response: DTPHTTP.HTTPResponse) -> Response {
        Response(
            status: HTTPResponse.Status(code: response.status), headers: relayedHeaders(response),
            body: .init(byteBuffer: ByteBuffer(bytes: response.body)))
    }

    /// The registry's headers a client needs (never its framing headers).
    private func relayedHeaders(_ response: DTPHTTP.HTTPResponse) -> HTTPFields {
        var headers = HTTPFields()
        for name in ["Content-Type", "ETag", "Link", "Location", "Cache-Control", "WWW-Authenticate", "Retry-After"] {
            if let value = response.headers.first(name: name), let field = HTTPField.Name(name) {
                headers[field] = value
            }
        }
        return headers
    }

    private func filterArray(_ response: DTPHTTP.HTTPResponse, keep: (JSONValue) -> Bool) -> Response {
        guard response.status == 200, case .array(let items)? = try? JSONValue(jsonText: response.bodyText) else {
            return relay(response)
        }
        return JSONBody.response(.array(items.filter(keep)), headers: relayedHeaders(response))
    }

    private func filterServices(_ response: DTPHTTP.HTTPResponse, user: User) -> Response {
        let snapshot = index.snapshot
        return filterArray(response) { Self.serviceVisible($0, to: user, in: snapshot) }
    }

    /// Whether a registry service document is visible to `user`.
    static func serviceVisible(_ service: JSONValue, to user: User, in snapshot: AccessIndex.Snapshot) -> Bool {
        if user.isStaff { return true }
        if service["interfaces"]?["public"]?.boolValue == true { return true }
        if let id = service["id"]?.stringValue?.lowercased(), snapshot.serviceGrants[user.id]?.contains(id) ?? false {
            return true
        }
        if let twin = service["twin_ref"]?.stringValue { return snapshot.canSeeTwin(twin, user: user) }
        return false
    }
}

