import DTPPostgres
import DTPHTTP
import DTPModel
import Foundation
import Testing

@Suite("Twins under concurrent writers", .timeLimit(.minutes(3)))
struct ConcurrencyTests {
    @Test("two writers with the same If-Match: exactly one 412")
    func sameIfMatch() async throws {
        try await RegistryHarness.with { registry in
            #expect(try await registry.send(.post, "/api/registry/twins", body: twinBody("dt:C")).status == 201)
            for round in 1...5 {
                let etag = "\"\(round)\""
                async let a = registry.send(
                    .patch, "/api/registry/twins/dt:C", body: #"{"metadata": {"writer": "a\#(round)"}}"#,
                    headers: ["If-Match": etag])
                async let b = registry.send(
                    .patch, "/api/registry/twins/dt:C", body: #"{"metadata": {"writer": "b\#(round)"}}"#,
                    headers: ["If-Match": etag])
                let statuses = try await [a.status, b.status].sorted()
                #expect(statuses == [200, 412])
            }
        }
    }

    @Test("100 concurrent PATCH loops with If-Match retries lose no update")
    func noLostUpdates() async throws {
        try await RegistryHarness.with { registry in
            #expect(
                try await registry.send(
                    .post, "/api/registry/twins", body: #"{"@id": "dt:Counter", "metadata": {"count": 0}}"#
                ).status == 201)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<100 {
                    group.addTask {
                        while true {
                            let current = try await registry.send(.get, "/api/registry/twins/dt:Counter")
                            let etag = try #require(current.headers.first(name: "ETag"))
                            var metadata = try #require(try RegistryHarness.json(current)["metadata"]?.objectValue)
                            metadata["count"] = .int((metadata["count"]?.intValue ?? 0) + 1)
                            let body = try JSONValue.object(["metadata": .object(metadata)]).jsonText()
                            let response = try await registry.send(
                                .patch, "/api/registry/twins/dt:Counter", body: body, headers: ["If-Match": etag])
                            if response.status == 200 { return }
                            #expect(response.status == 412, "\(response.bodyText)")
                        }
                    }
                }
                try await group.waitForAll()
            }
            let final = try RegistryHarness.json(try await registry.send(.get, "/api/registry/twins/dt:Counter"))
            #expect(final["metadata"]?["count"] == 100)
            #expect(final["version"] == 101)
        }
    }

    @Test("cursor pagination returns every twin exactly once while twins are being inserted")
    func paginationWhileInserting() async throws {
        try await RegistryHarness.with { registry in
            let initial = (0..<300).map { "dt:Page_\(String(format: "%03d", $0))" }
            let bulk = try JSONValue.array(initial.map { ["@id": .string($0)] }).jsonText()
            #expect(try await registry.send(.post, "/api/registry/twins/bulk", body: bulk).status == 200)
            let writer = Task {
                for index in 0..<150 {
                    // Ids that sort before, among and after the existing ones.
                    let id = ["dt:A_\(index)", "dt:Page_\(String(format: "%03d", index))x", "dt:Z_\(index)"][index % 3]
                    _ = try await registry.send(.post, "/api/registry/twins", body: #"{"@id": "\#(id)"}"#)
                }
            }
            var seen: [String] = []
            var path = "/api/registry/twins?limit=7"
            while true {
                let page = try await registry.send(.get, path)
                #expect(page.status == 200)
                seen += try RegistryHarness.json(page).arrayValue!.map { $0["@id"]!.stringValue! }
                guard let link = page.headers.first(name: "Link") else { break }
                #expect(link.hasSuffix(#">; rel="next""#))
                let start = try #require(link.firstIndex(of: "<"))
                let end = try #require(link.firstIndex(of: ">"))
                path = String(link[link.index(after: start)..<end])
            }
            try await writer.value
            #expect(Set(seen).count == seen.count, "a twin came twice")
            #expect(Set(initial).isSubset(of: Set(seen)), "a twin that existed throughout was missed")
            #expect(seen == seen.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        }
    }
}
