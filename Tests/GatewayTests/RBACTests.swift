import DTPHTTP
import DTPModel
import Foundation
import Testing

@testable import PortalGateway

/// Who calls, in the matrix.
enum Caller: String, CaseIterable, Sendable, CustomStringConvertible {
    case anonymous, demo, nogrant, staff, service
    var description: String { rawValue }
}

@Suite("RBAC")
struct RBACTests {
    /// One cell: a request and the status expected for each caller.
    struct Cell {
        let method: HTTPMethod
        let path: String
        let json: JSONValue?
        let expected: [Caller: Int]
    }

    @Test("every endpoint × anonymous, demo user, user without grants, staff and service token")
    func matrix() async throws {
        try await GatewayHarness.with { gateway in
            let admin = try await gateway.login(GatewayHarness.admin)
            // Twins made before `nogrant` exists: default grants (all) go to admin and demo only.
            #expect(try await gateway.createTwin("dt:Lift_001", name: "Lift", adminToken: admin.access).status == 201)
            #expect(try await gateway.createTwin("dt:Secret_001", name: "Secret", adminToken: admin.access).status == 201)
            try await gateway.waitFor {
                let cards = try GatewayHarness.json(try await gateway.send(.get, "/api/me/twins/", token: admin.access))
                return cards.arrayValue?.count == 2
            }
            let demo = try await gateway.login(GatewayHarness.demo)
            let cards = try GatewayHarness.json(try await gateway.send(.get, "/api/admin/twins", token: admin.access))
            let secretCard = try #require(cards.arrayValue?.first { $0["dtr_id"] == "dt:Secret_001" }?["twin_id"])
            #expect(
                try await gateway.send(
                    .delete, "/api/admin/grants", token: admin.access,
                    json: ["username": .string(GatewayHarness.demo.0), "twin_id": secretCard]
                ).status == 200)
            let nograntUser = try await gateway.createUser("nogrant@example.com", adminToken: admin.access)
            let nogrant = try await gateway.login(nograntUser)
            let service = try await gateway.send(
                .post, "/api/registry/services", token: admin.access,
                json: ["name": "hidden", "tenant": "demo", "category": "ANA", "interfaces": ["api": "http://x"]])
            #expect(service.status == 201)
            let serviceID = try #require(try GatewayHarness.json(service)["id"]?.stringValue)

            let tokens: [Caller: String?] = [
                .anonymous: nil, .demo: demo.access, .nogrant: nogrant.access, .staff: admin.access,
                .service: gateway.serviceToken,
            ]
            func all(_ status: Int) -> [Caller: Int] { Dictionary(uniqueKeysWithValues: Caller.allCases.map { ($0, status) }) }
            func users(_ status: Int, staff: Int? = nil, nogrant: Int? = nil) -> [Caller: Int] {
                [.anonymous: 401, .service: 401, .demo: status, .nogrant: nogrant ?? status, .staff: staff ?? status]
            }
            let staffOnly: [Caller: Int] = [.anonymous: 401, .service: 401, .demo: 403, .nogrant: 403, .staff: 200]
            var cells: [Cell] = [
                Cell(method: .get, path: "/api/healthz", json: nil, expected: all(200)),
                Cell(method: .get, path: "/openapi.json", json: nil, expected: all(200)),
                Cell(method: .get, path: "/api/registry/public/twins", json: nil, expected: all(200)),
                Cell(method: .get, path: "/api/me/", json: nil, expected: users(200)),
                Cell(method: .get, path: "/api/me/twins/", json: nil, expected: users(200)),
                Cell(method: .get, path: "/api/last-data/my", json: nil, expected: users(200)),
                Cell(method: .get, path: "/api/last-data/cached", json: nil, expected: users(200)),
                Cell(method: .post, path: "/api/portal/stream-ticket", json: nil, expected: users(201)),
                Cell(method: .get, path: "/api/registry/twins", json: nil, expected: users(200)),
                Cell(method: .get, path: "/api/registry/twins?scope=all", json: nil, expected: users(200)),
                Cell(method: .get, path: "/api/registry/my/twins", json: nil, expected: users(200)),
                Cell(method: .get, path: "/api/registry/my/services", json: nil, expected: users(200)),
                Cell(method: .get, path: "/api/registry/services/list", json: nil, expected: users(200)),
                Cell(method: .get, path: "/api/registry/services", json: nil, expected: users(200)),
                Cell(method: .get, path: "/api/registry/services/\(serviceID)", json: nil, expected: users(404, staff: 200)),
                Cell(method: .get, path: "/api/registry/relationships", json: nil, expected: users(200)),
                Cell(method: .get, path: "/api/registry/twins/dt:Lift_001", json: nil, expected: users(200, nogrant: 404)),
                Cell(method: .get, path: "/api/registry/twins/dt:Lift_001/history", json: nil, expected: users(200, nogrant: 404)),
                Cell(method: .get, path: "/api/registry/twins/dt:Lift_001/graph", json: nil, expected: users(200, nogrant: 404)),
                Cell(method: .get, path: "/api/registry/twins/dt:Secret_001", json: nil, expected: users(404, staff: 200)),
                Cell(method: .get, path: "/api/registry/twins/dt:Secret_001/history", json: nil, expected: users(404, staff: 200)),
                Cell(method: .get, path: "/api/registry/twins/dt:Secret_001/artifacts", json: nil, expected: users(404, staff: 503)),
                Cell(method: .get, path: "/api/portal/stream-nothing", json: nil, expected: all(404)),
                Cell(method: .get, path: "/api/admin/users", json: nil, expected: staffOnly),
                Cell(method: .get, path: "/api/admin/twins", json: nil, expected: staffOnly),
                Cell(method: .get, path: "/api/admin/grants", json: nil, expected: staffOnly),
                Cell(method: .get, path: "/api/admin/service-grants", json: nil, expected: staffOnly),
            ]
            var writeCells: [Cell] = [
                Cell(method: .post, path: "/api/registry/twins", json: ["@id": "dt:New_001", "tenant": "demo"],
                     expected: [.anonymous: 401, .service: 401, .demo: 403, .nogrant: 403, .staff: 201]),
                Cell(method: .patch, path: "/api/registry/twins/dt:Lift_001", json: ["metadata": ["name": "Lift", "status": "active"]],
                     expected: staffOnly),
                Cell(method: .post, path: "/api/registry/relationships", json: ["from": "dt:Lift_001", "type": "feeds", "to": "dt:Secret_001"],
                     expected: [.anonymous: 401, .service: 401, .demo: 403, .nogrant: 403, .staff: 201]),
                Cell(method: .post, path: "/api/admin/scan", json: nil,
                     expected: [.anonymous: 401, .service: 401, .demo: 403, .nogrant: 403, .staff: 502]),
                Cell(method: .post, path: "/api/admin/users", json: ["username": "x@example.com", "password": "12345678"],
                     expected: [.anonymous: 401, .service: 401, .demo: 403, .nogrant: 403, .staff: 201]),
                Cell(method: .delete, path: "/api/registry/twins/dt:New_001", json: nil, expected: staffOnly),
            ]
            cells.append(contentsOf: writeCells)
            writeCells.removeAll()
            for cell in cells {
                // Staff goes last in each cell so that a write by staff does not change the others' answers.
                for caller in [Caller.anonymous, .service, .demo, .nogrant, .staff] {
                    let response = try await gateway.send(cell.method, cell.path, token: tokens[caller] ?? nil, json: cell.json)
                    #expect(
                        response.status == cell.expected[caller],
                        "\(caller) \(cell.method) \(cell.path): \(response.status) \(response.bodyText.prefix(200))")
                }
            }
            // The stream: anonymous and service tokens are refused; users get a stream.
            for (caller, status) in [(Caller.anonymous, 401), (.service, 401)] {
                let response = try await gateway.send(.get, "/api/portal/stream", token: tokens[caller] ?? nil)
                #expect(response.status == status, "\(caller) stream")
            }
            #expect(try await gateway.send(.get, "/api/portal/stream?token=\(demo.access)").status == 400)

            // Nothing leaks: lists hold only granted twins.
            func ids(_ path: String, _ token: String) async throws -> Set<String> {
                let body = try GatewayHarness.json(try await gateway.send(.get, path, token: token))
                return Set((body.arrayValue ?? []).compactMap { $0["twin_id"]?.stringValue })
            }
            #expect(try await ids("/api/registry/twins", demo.access) == ["dt:Lift_001"])
            #expect(try await ids("/api/registry/twins?scope=all", demo.access) == ["dt:Lift_001"])
            #expect(try await ids("/api/registry/my/twins", demo.access) == ["dt:Lift_001"])
            #expect(try await ids("/api/registry/twins", nogrant.access).isEmpty)
            #expect(try await ids("/api/registry/twins?scope=all", admin.access) == ["dt:Lift_001", "dt:Secret_001"])
            #expect(try await ids("/api/registry/twins?tenant=other&scope=all", admin.access).isEmpty)
            let myCards = try GatewayHarness.json(try await gateway.send(.get, "/api/me/twins/", token: demo.access))
            #expect(myCards.arrayValue?.compactMap { $0["dtr_id"]?.stringValue } == ["dt:Lift_001"])
            let relations = try GatewayHarness.json(try await gateway.send(.get, "/api/registry/relationships", token: demo.access))
            #expect(relations.arrayValue?.isEmpty == true)
            let graph = try GatewayHarness.json(
                try await gateway.send(.get, "/api/registry/twins/dt:Lift_001/graph", token: demo.access))
            #expect(graph["nodes"]?.arrayValue?.compactMap { $0["twin_id"]?.stringValue } == ["dt:Lift_001"])
            let services = try GatewayHarness.json(try await gateway.send(.get, "/api/registry/my/services", token: demo.access))
            #expect(services.arrayValue?.isEmpty == true)
            // A service grant makes the service visible.
            let grant = try await gateway.send(
                .post, "/api/admin/service-grants", token: admin.access,
                json: ["username": .string(GatewayHarness.demo.0), "service_id": .string(serviceID)])
            #expect(grant.status == 201)
            #expect(try await gateway.send(.get, "/api/registry/services/\(serviceID)", token: demo.access).status == 200)
            let grants = try GatewayHarness.json(try await gateway.send(.get, "/api/admin/service-grants", token: admin.access))
            #expect(grants.arrayValue?.first?["service"] == "hidden")
            // ETag and If-Match pass through.
            let twin = try await gateway.send(.get, "/api/registry/twins/dt:Lift_001", token: demo.access)
            let etag = try #require(twin.headers.first(name: "ETag"))
            let stale = try await gateway.send(
                .patch, "/api/registry/twins/dt:Lift_001", token: admin.access,
                json: ["metadata": ["name": "Lift", "status": "instantiated"]], headers: ["If-Match": "\"0\""])
            #expect(stale.status == 412)
            let fresh = try await gateway.send(
                .patch, "/api/registry/twins/dt:Lift_001", token: admin.access,
                json: ["metadata": ["name": "Lift", "status": "instantiated"]], headers: ["If-Match": etag])
            #expect(fresh.status == 200)
            // Pagination passes through, Link included.
            let page = try await gateway.send(.get, "/api/registry/twins?scope=all&limit=1", token: admin.access)
            #expect(page.headers.first(name: "Link")?.contains("rel=\"next\"") == true)
        }
    }
}
