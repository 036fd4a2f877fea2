import DTPPostgres
import DTPHTTP
import DTPModel
import Foundation
import Testing

@Suite("Twins: the earlier API's shapes, validation, history and bulk")
struct TwinContractTests {
    @Test("upsert answers 201 then 200, GET returns the earlier keys plus @id, version and etag")
    func upsertAndGet() async throws {
        try await RegistryHarness.with { registry in
            let created = try await registry.send(.post, "/api/registry/twins", body: twinBody("dt:Lift_001", name: "Lift"))
            #expect(created.status == 201)
            let twin = try RegistryHarness.json(created)
            for key in ["@id", "twin_id", "tenant", "metadata", "interfaces", "dependencies", "created_at", "updated_at",
                "version", "etag"]
            {
                #expect(twin[key] != nil, "missing \(key)")
            }
            #expect(twin["twin_id"] == "dt:Lift_001")
            #expect(twin["version"] == 1)
            #expect(created.headers.first(name: "ETag") == "\"1\"")
            let createdAt = try #require(twin["created_at"]?.stringValue)
            #expect(createdAt.hasSuffix("Z") && createdAt.count == 27, "ISO 8601 with microseconds: \(createdAt)")

            let again = try await registry.send(
                .post, "/api/registry/twins", body: twinBody("dt:Lift_001", status: "active", name: "Lift"))
            #expect(again.status == 200)
            #expect(try RegistryHarness.json(again)["version"] == 2)

            let fetched = try await registry.send(.get, "/api/registry/twins/dt:Lift_001")
            #expect(fetched.status == 200)
            #expect(try RegistryHarness.json(fetched)["metadata"]?["status"] == "active")
            #expect(fetched.headers.first(name: "ETag") == "\"2\"")

            // Metadata defaults to status instantiated, tenant to demo, and twin_id is accepted.
            let minimal = try await registry.send(.post, "/api/registry/twins", body: #"{"twin_id": "dt:Min"}"#)
            #expect(minimal.status == 201)
            let body = try RegistryHarness.json(minimal)
            #expect(body["metadata"]?["status"] == "instantiated")
            #expect(body["tenant"] == "demo")
        }
    }

    @Test("errors: @id required, twin not found, bad input; the service keeps serving")
    func badInput() async throws {
        try await RegistryHarness.with { registry in
            func expect(_ response: HTTPResponse, _ status: Int, _ detail: String? = nil, contains: String? = nil) throws {
                #expect(response.status == status, "\(response.bodyText)")
                let body = try RegistryHarness.json(response)
                let text = try #require(body["detail"]?.stringValue, "no detail in \(response.bodyText)")
                if let detail { #expect(text == detail) }
                if let contains { #expect(text.contains(contains), "\(text)") }
            }
            try expect(try await registry.send(.post, "/api/registry/twins", body: #"{"tenant": "demo"}"#), 400, "@id required")
            try expect(try await registry.send(.get, "/api/registry/twins/dt:Nope"), 404, "twin not found")
            try expect(try await registry.send(.patch, "/api/registry/twins/dt:Nope", body: "{}"), 404, "twin not found")
            try expect(try await registry.send(.delete, "/api/registry/twins/dt:Nope"), 404, "twin not found")
            try expect(try await registry.send(.post, "/api/registry/twins", body: #"{"@id": "x",,}"#), 400, contains: "malformed JSON")
            try expect(try await registry.send(.post, "/api/registry/twins", body: "[1, 2]"), 400)
            try expect(
                try await registry.send(.post, "/api/registry/twins", body: #"{"@id": "dt:A", "metadata": "nope"}"#), 422,
                contains: "metadata")
            try expect(
                try await registry.send(.post, "/api/registry/twins", body: #"{"@id": "bad id/with slash"}"#), 422,
                contains: "@id")
            try expect(
                try await registry.send(.post, "/api/registry/twins", body: #"{"@id": "dt:A", "metadata": {"status": "dreaming"}}"#),
                422, contains: "metadata.status")
            try expect(
                try await registry.send(
                    .post, "/api/registry/twins", body: #"{"@id": "dt:A", "interfaces": {"api": "ftp://x"}}"#), 422,
                contains: "interfaces.api")
            try expect(
                try await registry.send(
                    .post, "/api/registry/twins", body: #"{"@id": "dt:A", "interfaces": {"data_streams": [42]}}"#), 422,
                contains: "interfaces.data_streams[0]")
            let huge = #"{"@id": "dt:Big", "metadata": {"blob": ""# + String(repeating: "x", count: 2 << 20) + #""}}"#
            try expect(try await registry.send(.post, "/api/registry/twins", body: huge), 413)
            // retired is final.
            #expect(try await registry.send(.post, "/api/registry/twins", body: twinBody("dt:R", status: "retired")).status == 201)
            try expect(
                try await registry.send(.patch, "/api/registry/twins/dt:R", body: #"{"metadata": {"status": "active"}}"#),
                422, contains: "retired is final")
            try expect(try await registry.send(.post, "/api/registry/twins", body: twinBody("dt:R", status: "active")), 422)
            // Still serving.
            #expect(try await registry.send(.post, "/api/registry/twins", body: twinBody("dt:Ok")).status == 201)
            #expect(try await registry.send(.get, "/api/registry/twins/dt:Ok").status == 200)
            // Nothing of the refused writes was stored.
            let rows = try await registry.pool.query("SELECT id FROM registry.twin ORDER BY id")
            #expect(try rows.map { try $0.decode(String.self, at: 0) } == ["dt:Ok", "dt:R"])
        }
    }

    @Test("PATCH replaces top-level fields; merge patch merges; DELETE soft and hard; history")
    func patchDeleteHistory() async throws {
        try await RegistryHarness.with { registry in
            _ = try await registry.send(.post, "/api/registry/twins", body: twinBody("dt:P", name: "P"))
            let replaced = try await registry.send(
                .patch, "/api/registry/twins/dt:P", body: #"{"metadata": {"status": "active"}}"#)
            #expect(replaced.status == 200)
            let afterReplace = try RegistryHarness.json(replaced)
            #expect(afterReplace["metadata"] == ["status": "active"])
            #expect(afterReplace["interfaces"]?["api"] == "http://localhost:3001")

            let merged = try await registry.send(
                .patch, "/api/registry/twins/dt:P", body: #"{"metadata": {"name": "Renamed", "status": null}}"#,
                headers: ["Content-Type": "application/merge-patch+json"])
            #expect(merged.status == 200, "\(merged.bodyText)")
            let afterMerge = try RegistryHarness.json(merged)
            #expect(afterMerge["metadata"]?["name"] == "Renamed")
            // A removed status keeps the previous one: status is never absent.
            #expect(afterMerge["metadata"]?["status"] == "active")
            #expect(afterMerge["version"] == 3)

            let soft = try await registry.send(.delete, "/api/registry/twins/dt:P?soft=true")
            #expect(soft.status == 200)
            #expect(try RegistryHarness.json(soft) == ["ok": true])
            let deprecated = try RegistryHarness.json(try await registry.send(.get, "/api/registry/twins/dt:P"))
            #expect(deprecated["metadata"]?["status"] == "deprecated")

            let history = try RegistryHarness.json(try await registry.send(.get, "/api/registry/twins/dt:P/history"))
            let entries = try #require(history.arrayValue)
            #expect(entries.map { $0["version"] } == [4, 3, 2, 1])
            #expect(entries.map { $0["op"] } == ["deprecate", "update", "update", "create"])
            #expect(entries.allSatisfy { $0["actor"] == "service:discovery" })
            #expect(entries[1]["changed"] == ["metadata"])
            #expect(entries[3]["twin"]?["metadata"]?["name"] == "P")

            #expect(try await registry.send(.delete, "/api/registry/twins/dt:P").status == 200)
            #expect(try await registry.send(.get, "/api/registry/twins/dt:P").status == 404)
            let afterDelete = try RegistryHarness.json(try await registry.send(.get, "/api/registry/twins/dt:P/history"))
            #expect(afterDelete[0]?["op"] == "delete")
        }
    }

    @Test("If-Match and If-None-Match give 412")
    func preconditions() async throws {
        try await RegistryHarness.with { registry in
            #expect(try await registry.send(.post, "/api/registry/twins", body: twinBody("dt:E")).status == 201)
            let exists = try await registry.send(
                .post, "/api/registry/twins", body: twinBody("dt:E"), headers: ["If-None-Match": "*"])
            #expect(exists.status == 412)
            let stale = try await registry.send(
                .patch, "/api/registry/twins/dt:E", body: #"{"tenant": "other"}"#, headers: ["If-Match": "\"7\""])
            #expect(stale.status == 412)
            let fresh = try await registry.send(
                .patch, "/api/registry/twins/dt:E", body: #"{"tenant": "other"}"#, headers: ["If-Match": "\"1\""])
            #expect(fresh.status == 200)
            #expect(try await registry.send(.delete, "/api/registry/twins/dt:E", headers: ["If-Match": "\"1\""]).status == 412)
            #expect(try await registry.send(.delete, "/api/registry/twins/dt:E", headers: ["If-Match": "\"2\""]).status == 200)
        }
    }

    @Test("list filters, the public list, and bulk upsert with per-item results")
    func listAndBulk() async throws {
        try await RegistryHarness.with { registry in
            let items: [JSONValue] = (0..<20).map { index in
                try! JSONValue(jsonText: twinBody(
                    "dt:Bulk_\(String(format: "%02d", index))", tenant: index % 2 == 0 ? "even" : "odd",
                    status: index < 5 ? "active" : "instantiated", name: "Bulk \(index)",
                    domain: index % 3 == 0 ? ["HVAC"] : ["Lift"]))
            } + [["@id": "bad id"], ["tenant": "x"]]
            let response = try await registry.send(
                .post, "/api/registry/twins/bulk", body: try JSONValue.array(items).jsonText())
            #expect(response.status == 200, "\(response.bodyText)")
            let result = try RegistryHarness.json(response)
            #expect(result["created"] == 20)
            #expect(result["failed"] == 2)
            #expect(result["results"]?[20]?["status"] == 422)
            #expect(result["results"]?[21]?["detail"] == "@id required")

            func ids(_ query: String) async throws -> [String] {
                let list = try await registry.send(.get, "/api/registry/twins" + query)
                #expect(list.status == 200)
                return try RegistryHarness.json(list).arrayValue!.map { $0["@id"]!.stringValue! }
            }
            #expect(try await ids("").count == 20)
            #expect(try await ids("?tenant=even").count == 10)
            #expect(try await ids("?status=active") == (0..<5).map { "dt:Bulk_0\($0)" })
            #expect(try await ids("?domain=HVAC").count == 7)
            #expect(try await ids("?q=bulk_1").count == 10)
            #expect(try await ids("?q=BULK%2019") == ["dt:Bulk_19"])
            #expect(try await ids("?updated_since=2000-01-01T00:00:00Z").count == 20)
            #expect(try await ids("?updated_since=2999-01-01T00:00:00Z").isEmpty)
            #expect(try await registry.send(.get, "/api/registry/twins?status=sleeping").status == 400)

            let publicList = try await registry.send(.get, "/api/registry/public/twins?tenant=odd", authorized: false)
            #expect(publicList.status == 200)
            let first = try #require(try RegistryHarness.json(publicList)[0]?.objectValue)
            #expect(Set(first.keys) == ["twin_id", "@id", "name", "tenant", "status", "domain", "data_streams"])
            #expect(try RegistryHarness.json(publicList).arrayValue?.count == 10)

            let tooMany = try JSONValue.array((0..<1001).map { ["@id": .string("dt:T\($0)")] }).jsonText()
            #expect(try await registry.send(.post, "/api/registry/twins/bulk", body: tooMany).status == 413)
        }
    }

    @Test("a list served again while nothing changed still shows every later change")
    func listAfterChanges() async throws {
        try await RegistryHarness.with { registry in
            func names() async throws -> [String] {
                let list = try await registry.send(.get, "/api/registry/twins?tenant=cache")
                #expect(list.status == 200)
                return try RegistryHarness.json(list).arrayValue!.map { $0["metadata"]?["name"]?.stringValue ?? "" }
            }
            for index in 0..<3 {
                let body = twinBody("dt:Cache_\(index)", tenant: "cache", status: "active", name: "one", domain: ["Lift"])
                #expect(try await registry.send(.post, "/api/registry/twins", body: body).status == 201)
            }
            #expect(try await names() == ["one", "one", "one"])
            #expect(try await names() == ["one", "one", "one"])
            // A change elsewhere (another tenant) and one in the listed tenant, each seen at once.
            #expect(try await registry.send(.post, "/api/registry/twins", body: #"{"@id": "dt:Other"}"#).status == 201)
            #expect(try await names() == ["one", "one", "one"])
            let patch = try await registry.send(
                .patch, "/api/registry/twins/dt:Cache_1", body: #"{"metadata": {"name": "two", "status": "active"}}"#)
            #expect(patch.status == 200)
            #expect(try await names() == ["one", "two", "one"])
            #expect(try await registry.send(.delete, "/api/registry/twins/dt:Cache_2").status == 200)
            #expect(try await names() == ["one", "two"])
        }
    }
}
