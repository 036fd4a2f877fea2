import DTPPostgres
import DTPHTTP
import DTPModel
import Foundation
import Testing

@Suite("Services, relationships and the graph")
struct ServiceAndGraphTests {
    @Test("services: earlier validation, upsert by (tenant, name), list, GET, PATCH, DELETE")
    func services() async throws {
        try await RegistryHarness.with { registry in
            let missing = try await registry.send(.post, "/api/registry/services", body: #"{"name": "x"}"#)
            #expect(missing.status == 400)
            #expect(try RegistryHarness.json(missing) == ["detail": "missing: category, interfaces"])
            let badCategory = try await registry.send(
                .post, "/api/registry/services", body: #"{"name": "x", "category": "NOPE", "interfaces": {}}"#)
            #expect(badCategory.status == 422)

            let body = #"{"name": "lift-ui", "tenant": "demo", "category": "UI", "interfaces": {"url": "http://x"}, "twin_ref": "dt:L"}"#
            let created = try await registry.send(.post, "/api/registry/services", body: body)
            #expect(created.status == 201)
            let service = try RegistryHarness.json(created)
            let id = try #require(service["id"]?.stringValue)
            #expect(service["twin_ref"] == "dt:L")
            #expect(service["health"] == .null)
            let again = try await registry.send(.post, "/api/registry/services", body: body)
            #expect(again.status == 200)
            #expect(try RegistryHarness.json(again)["id"]?.stringValue == id)
            _ = try await registry.send(
                .post, "/api/registry/services", body: #"{"name": "an", "tenant": "other", "category": "ANA", "interfaces": {}}"#)

            let all = try RegistryHarness.json(try await registry.send(.get, "/api/registry/services"))
            #expect(all.arrayValue?.count == 2)
            let ui = try RegistryHarness.json(try await registry.send(.get, "/api/registry/services?category=UI"))
            #expect(ui.arrayValue?.count == 1)
            let scoped = try await registry.send(.get, "/api/registry/services/list?scope=all")
            #expect(try RegistryHarness.json(scoped).arrayValue?.count == 2)

            let patched = try await registry.send(
                .patch, "/api/registry/services/\(id)", body: #"{"health": {"status": "ok"}}"#)
            #expect(patched.status == 200)
            #expect(try RegistryHarness.json(patched)["health"]?["status"] == "ok")
            #expect(try await registry.send(.get, "/api/registry/services/\(id)").status == 200)
            #expect(try await registry.send(.delete, "/api/registry/services/\(id)").status == 200)
            #expect(try await registry.send(.get, "/api/registry/services/\(id)").status == 404)
            let types = try await registry.pool.query("SELECT type FROM registry.event ORDER BY id").map {
                try $0.decode(String.self, at: 0)
            }
            #expect(types == ["service.update", "service.update", "service.update", "service.update", "service.delete"])
        }
    }

    @Test("relationships from dependencies and the API; the graph terminates on a cycle")
    func graph() async throws {
        try await RegistryHarness.with { registry in
            // A -> B -> C -> A (a cycle through dependencies), and D -> A through the API.
            _ = try await registry.send(.post, "/api/registry/twins", body: twinBody("dt:A", dependencies: ["dt:B"]))
            _ = try await registry.send(.post, "/api/registry/twins", body: twinBody("dt:B", dependencies: ["dt:C"]))
            _ = try await registry.send(.post, "/api/registry/twins", body: twinBody("dt:C", dependencies: ["dt:A"]))
            _ = try await registry.send(.post, "/api/registry/twins", body: twinBody("dt:D"))
            let added = try await registry.send(
                .post, "/api/registry/relationships", body: #"{"from": "dt:D", "type": "monitors", "to": "dt:A"}"#)
            #expect(added.status == 201)
            #expect(
                try await registry.send(
                    .post, "/api/registry/relationships", body: #"{"from": "dt:Nope", "type": "x", "to": "dt:A"}"#
                ).status == 404)
            #expect(try await registry.send(.post, "/api/registry/relationships", body: #"{"from": "dt:D"}"#).status == 400)

            let out = try RegistryHarness.json(
                try await registry.send(.get, "/api/registry/twins/dt:A/graph?direction=out&depth=10"))
            #expect(out["nodes"]?.arrayValue?.map { $0["twin_id"]! } == ["dt:A", "dt:B", "dt:C"])
            #expect(out["edges"]?.arrayValue?.count == 3)
            let incoming = try RegistryHarness.json(
                try await registry.send(.get, "/api/registry/twins/dt:A/graph?direction=in&depth=1"))
            #expect(Set(incoming["nodes"]!.arrayValue!.map { $0["twin_id"]!.stringValue! }) == ["dt:A", "dt:C", "dt:D"])
            let both = try RegistryHarness.json(
                try await registry.send(.get, "/api/registry/twins/dt:D/graph?direction=both&depth=10"))
            #expect(both["nodes"]?.arrayValue?.count == 4)
            #expect(try await registry.send(.get, "/api/registry/twins/dt:A/graph?direction=up").status == 400)

            // Changing dependencies replaces the derived edges.
            _ = try await registry.send(.patch, "/api/registry/twins/dt:C", body: #"{"dependencies": {"static": []}}"#)
            let after = try RegistryHarness.json(try await registry.send(.get, "/api/registry/twins/dt:A/graph"))
            #expect(after["nodes"]?.arrayValue?.count == 3)
            #expect(after["edges"]?.arrayValue?.count == 2)

            let removed = try await registry.send(
                .delete, "/api/registry/relationships", body: #"{"from": "dt:D", "type": "monitors", "to": "dt:A"}"#)
            #expect(removed.status == 200)
            let events = try await registry.pool.query(
                "SELECT count(*) FROM registry.event WHERE type = 'relationship.update'")
            #expect(try events[0].decode(Int.self, at: 0) == 2)
        }
    }
}
