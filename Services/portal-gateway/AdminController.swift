import DTPAuth
import DTPHTTP
import DTPModel
import DTPServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The staff-only admin API, in the earlier shapes: users, cards, grants, service grants, and a rescan.
struct AdminController: Sendable {
    let store: GatewayStore
    let hasher: PasswordHasher
    let hub: PortalHub
    let registry: Upstream
    let discovery: Upstream
    let maxBodyBytes: Int

    func addRoutes(to router: Router<GatewayContext>) {
        let admin = router.group("api/admin")
        admin.get("users", use: users)
        admin.post("users", use: createUser)
        admin.delete("users", use: deleteUser)
        admin.get("twins", use: cards)
        admin.post("twins", use: createCard)
        admin.delete("twins", use: deleteCard)
        admin.get("grants", use: grants)
        admin.post("grants", use: addGrant)
        admin.delete("grants", use: removeGrant)
        admin.get("service-grants", use: serviceGrants)
        admin.post("service-grants", use: addServiceGrant)
        admin.delete("service-grants", use: removeServiceGrant)
        admin.post("scan", use: scan)
    }

    @Sendable func users(_ request: Request, context: GatewayContext) async throws -> Response {
        _ = try context.requireStaff()
        let users = store.index.snapshot.users.values.sorted { $0.username < $1.username }
        return JSONBody.response(
            .array(
                users.map {
                    [
                        "id": .int(Int($0.id)), "username": .string($0.username), "email": .string($0.email),
                        "is_staff": .bool($0.isStaff),
                    ]
                }))
    }

    @Sendable func createUser(_ request: Request, context: GatewayContext) async throws -> Response {
        _ = try context.requireStaff()
        let body = try await JSONBody.object(request, limit: maxBodyBytes)
        let fields = try JSONBody.require(["username", "password"], in: body)
        guard fields[1].utf8.count >= 8 else { throw APIError.badRequest("password: at least 8 characters") }
        guard fields[0].count <= 150 else { throw APIError.badRequest("username: at most 150 characters") }
        let hash = try await hasher.hash(fields[1])
        let user = try await store.createUser(
            username: fields[0], email: body["email"]?.stringValue ?? fields[0], passwordHash: hash,
            isStaff: body["is_staff"]?.boolValue ?? false)
        return JSONBody.response(
            [
                "id": .int(Int(user.id)), "username": .string(user.username), "email": .string(user.email),
                "is_staff": .bool(user.isStaff),
            ], status: .created)
    }

    @Sendable func deleteUser(_ request: Request, context: GatewayContext) async throws -> Response {
        let staff = try context.requireStaff()
        let body = try await JSONBody.object(request, limit: maxBodyBytes)
        let username = try JSONBody.require(["username"], in: body)[0]
        guard username != staff.username else { throw APIError.badRequest("you cannot delete yourself") }
        guard let user = try await store.deleteUser(username: username) else {
            throw APIError.notFound("user not found")
        }
        hub.disconnect(userID: user.id)
        return JSONBody.response(["ok": true])
    }

    @Sendable func cards(_ request: Request, context: GatewayContext) async throws -> Response {
        _ = try context.requireStaff()
        let cards = store.index.snapshot.cards.values.sorted { ($0.name, $0.id) < ($1.name, $1.id) }
        return JSONBody.response(.array(cards.map(\.json)))
    }

    @Sendable func createCard(_ request: Request, context: GatewayContext) async throws -> Response {
        _ = try context.requireStaff()
        let body = try await JSONBody.object(request, limit: maxBodyBytes)
        let name = try JSONBody.require(["name"], in: body)[0]
        let card = try await store.createCard(
            name: name, uiURL: body["ui_url"]?.stringValue ?? "",
            twinID: body["dtr_id"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 },
            tenant: body["tenant"]?.stringValue ?? "demo")
        publishCard(card, type: "card.update")
        return JSONBody.response(card.json, status: .created)
    }

    @Sendable func deleteCard(_ request: Request, context: GatewayContext) async throws -> Response {
        _ = try context.requireStaff()
        let body = try await JSONBody.object(request, limit: maxBodyBytes)
        let id = try JSONBody.require(["twin_id"], in: body)[0]
        guard let card = store.index.snapshot.cards[id.lowercased()] else { throw APIError.notFound("twin not found") }
        publishCard(card, type: "card.delete")
        _ = try await store.deleteCard(id: card.id)
        return JSONBody.response(["ok": true])
    }

    @Sendable func grants(_ request: Request, context: GatewayContext) async throws -> Response {
        _ = try context.requireStaff()
        let snapshot = store.index.snapshot
        var items: [JSONValue] = []
        for user in snapshot.users.values.sorted(by: { $0.username < $1.username }) {
            for cardID in (snapshot.grants[user.id] ?? []).sorted() {
                guard let card = snapshot.cards[cardID] else { continue }
                items.append([
                    "user": .string(user.username), "twin_id": .string(card.id), "twin": .string(card.name),
                    "dtr_id": card.dtrID.map(JSONValue.string) ?? .null,
                ])
            }
        }
        return JSONBody.response(.array(items))
    }

    @Sendable func addGrant(_ request: Request, context: GatewayContext) async throws -> Response {
        _ = try context.requireStaff()
        let (user, card) = try await grantTarget(request)
        let added = try await store.grant(user, card: card.id)
        publishGrant(user: user, card: card, type: "grant.add")
        publishCard(card, type: "card.update", only: user)
        return JSONBody.response(["ok": true], status: added ? .created : .ok)
    }

    @Sendable func removeGrant(_ request: Request, context: GatewayContext) async throws -> Response {
        _ = try context.requireStaff()
        let (user, card) = try await grantTarget(request)
        guard try await store.revoke(user, card: card.id) else { throw APIError.notFound("grant not found") }
        publishGrant(user: user, card: card, type: "grant.revoke")
        return JSONBody.response(["ok": true])
    }

    @Sendable func serviceGrants(_ request: Request, context: GatewayContext) async throws -> Response {
        _ = try context.requireStaff()
        let items: [JSONValue] = try await store.serviceGrants().map {
            ["user": .string($0.user), "service_id": .string($0.serviceID), "service": .string($0.service)]
        }
        return JSONBody.response(.array(items))
    }

    @Sendable func addServiceGrant(_ request: Request, context: GatewayContext) async throws -> Response {
        _ = try context.requireStaff()
        let (user, serviceID) = try await serviceGrantTarget(request)
        let found = try await registry.send(.get, "/api/registry/services/\(Self.escape(serviceID))")
        guard found.status == 200, let service = try? JSONValue(jsonText: found.bodyText) else {
            throw APIError.notFound("service not found")
        }
        let added = try await store.grantService(user, service: serviceID, name: service["name"]?.stringValue ?? "")
        hub.publish(
            name: "grant",
            data: (try? JSONValue.object(["type": "service_grant.add", "service_id": .string(serviceID)]).jsonText())
                ?? "{}", tenant: nil, audience: .user(user.id))
        return JSONBody.response(["ok": true], status: added ? .created : .ok)
    }

    @Sendable func removeServiceGrant(_ request: Request, context: GatewayContext) async throws -> Response {
        _ = try context.requireStaff()
        let (user, serviceID) = try await serviceGrantTarget(request)
        guard try await store.revokeService(user, service: serviceID) else {
            throw APIError.notFound("grant not found")
        }
        hub.publish(
            name: "grant",
            data: (try? JSONValue.object(["type": "service_grant.revoke", "service_id": .string(serviceID)])
                .jsonText()) ?? "{}", tenant: nil, audience: .user(user.id))
        return JSONBody.response(["ok": true])
    }

    /// `POST /api/admin/scan`: asks discovery to rescan (`POST /scan`) and relays its summary.
    @Sendable func scan(_ request: Request, context: GatewayContext) async throws -> Response {
        _ = try context.requireStaff()
        let response: DTPHTTP.HTTPResponse
        do {
            response = try await discovery.send(.post, "/scan", timeout: .seconds(120))
        } catch {
            context.logger.warning("discovery unreachable", metadata: ["error": "\(error)"])
            throw APIError(.badGateway, "discovery is unreachable")
        }
        guard response.isSuccess else {
            throw APIError(.badGateway, "discovery answered \(response.status)")
        }
        var summary = (try? JSONValue(jsonText: response.bodyText)) ?? .object([:])
        if case .object(var object) = summary {
            object["ok"] = object["ok"] ?? true
            summary = .object(object)
        }
        return JSONBody.response(summary)
    }

    private func grantTarget(_ request: Request) async throws -> (User, Card) {
        let body = try await JSONBody.object(request, limit: maxBodyBytes)
        let fields = try JSONBody.require(["username", "twin_id"], in: body)
        guard let user = store.user(named: fields[0]) else { throw APIError.notFound("user not found") }
        let snapshot = store.index.snapshot
        // The card's own id, as before; a registry twin id is accepted too.
        guard let card = snapshot.cards[fields[1].lowercased()] ?? snapshot.cardByTwin[fields[1]].flatMap({ snapshot.cards[$0] })
        else { throw APIError.notFound("twin not found") }
        return (user, card)
    }

    private func serviceGrantTarget(_ request: Request) async throws -> (User, String) {
        let body = try await JSONBody.object(request, limit: maxBodyBytes)
        let fields = try JSONBody.require(["username", "service_id"], in: body)
        guard let user = store.user(named: fields[0]) else { throw APIError.notFound("user not found") }
        return (user, fields[1].lowercased())
    }

    private func publishGrant(user: User, card: Card, type: String) {
        let data: JSONValue = [
            "type": .string(type), "twin_id": .string(card.id), "dtr_id": card.dtrID.map(JSONValue.string) ?? .null,
        ]
        hub.publish(name: "grant", data: (try? data.jsonText()) ?? "{}", tenant: nil, audience: .user(user.id))
    }

    private func publishCard(_ card: Card, type: String, only user: User? = nil) {
        let data: JSONValue = ["type": .string(type), "tenant": .string(card.tenant), "card": card.json]
        hub.publish(
            name: "card", data: (try? data.jsonText()) ?? "{}", tenant: card.tenant,
            audience: user.map { .user($0.id) } ?? .card(card.id))
    }

    static func escape(_ segment: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~:@")
        return segment.addingPercentEncoding(withAllowedCharacters: allowed) ?? segment
    }
}
