import DTPHTTP
import DTPModel
import DTPRegistryClient
import DTPTestSupport
import Foundation
import Testing

/// The shared registry client against a live registry: every call, its errors, and the change stream.
@Suite(.timeLimit(.minutes(3))) struct RegistryClientTests {
    private func client(_ harness: RegistryHarness) -> RegistryClient {
        RegistryClient(baseURL: harness.baseURL + "/", token: harness.token, http: harness.client)
    }

    private func twin(_ id: String, tenant: String = "demo", extra: [String: JSONValue] = [:]) throws -> JSONValue {
        var object = try #require(try JSONValue(jsonText: twinBody(id, tenant: tenant)).objectValue)
        for (key, value) in extra { object[key] = value }
        return .object(object)
    }

    @Test func upsertReadPatchAndDelete() async throws {
        try await RegistryHarness.with { harness in
            let registry = client(harness)
            let id = "dt:client-\(UUID().uuidString.prefix(8))"
            let first = try await registry.upsert(try twin(id))
            #expect(first.created)
            #expect(first.twin["@id"]?.stringValue == id)
            #expect(try await registry.upsert(try twin(id)).created == false)

            let refused = await #expect(throws: RegistryClientError.self) {
                try await registry.upsert(try twin(id), onlyIfNew: true)
            }
            #expect(refused?.isPreconditionFailed == true)
            #expect(refused?.isRetryable == false)

            let stored = try #require(try await registry.twin(id))
            let etag = try #require(stored["etag"]?.stringValue)
            let patched = try await registry.mergePatch(id, ["metadata": ["owner": "ops"]], ifMatch: etag)
            #expect(patched["metadata"]?["owner"]?.stringValue == "ops")
            #expect(patched["metadata"]?["status"]?.stringValue == "instantiated")
            let stale = await #expect(throws: RegistryClientError.self) {
                try await registry.mergePatch(id, ["metadata": ["owner": "x"]], ifMatch: etag)
            }
            #expect(stale?.status == 412)

            try await registry.deleteTwin(id, soft: true)
            #expect(try await registry.twin(id)?["metadata"]?["status"]?.stringValue == "deprecated")
            try await registry.deleteTwin(id, soft: false)
            #expect(try await registry.twin(id) == nil)
            let missing = await #expect(throws: RegistryClientError.self) {
                try await registry.deleteTwin(id, soft: false)
            }
            #expect(missing?.isNotFound == true)
        }
    }

    @Test func listFollowsEveryPageAndFilters() async throws {
        try await RegistryHarness.with { harness in
            let registry = client(harness)
            let tenant = "t\(UUID().uuidString.prefix(6).lowercased())"
            let ids = (0..<7).map { "dt:page-\($0)" }
            for id in ids { _ = try await registry.upsert(try twin(id, tenant: tenant)) }
            _ = try await registry.upsert(try twin("dt:other", tenant: "elsewhere"))

            let listed = try await registry.twins(TwinQuery(tenant: tenant, pageSize: 3))
            #expect(listed.compactMap { $0["@id"]?.stringValue }.sorted() == ids)
            #expect(try await registry.twins(TwinQuery(tenant: tenant, text: "page-4")).count == 1)
        }
    }

    @Test func bulkAnswersPerItem() async throws {
        try await RegistryHarness.with { harness in
            let registry = client(harness)
            let items = try await registry.bulkUpsert([
                try twin("dt:bulk-a"), ["tenant": "demo"], try twin("dt:bulk-b"),
            ])
            #expect(items.map(\.status) == [201, 400, 201])
            #expect(items[0].succeeded && !items[1].succeeded)
            #expect(items[1].detail?.contains("@id") == true)
            #expect(items[2].id == "dt:bulk-b")
        }
    }

    @Test func servicesAreRegisteredAndListed() async throws {
        try await RegistryHarness.with { harness in
            let registry = client(harness)
            let name = "svc-\(UUID().uuidString.prefix(6))"
            let service: JSONValue = [
                "tenant": "demo", "name": .string(name), "category": "UI",
                "interfaces": ["api": "http://127.0.0.1:9"], "health": ["url": "http://127.0.0.1:9/healthz"],
            ]
            try await registry.upsertService(service)
            #expect(try await registry.services().contains { $0["name"]?.stringValue == name })
        }
    }

    @Test func eventStreamReplaysAndResumesInOrder() async throws {
        try await RegistryHarness.with(heartbeat: .seconds(1)) { harness in
            let registry = client(harness)
            let ids = (0..<5).map { "dt:evt-\($0)" }
            for id in ids { _ = try await registry.upsert(try twin(id)) }
            try await registry.deleteTwin(ids[0], soft: false)

            var seen: [RegistryEvent] = []
            for try await event in registry.events(since: 0, tenant: "demo") {
                seen.append(event)
                if seen.count == 6 { break }
            }
            #expect(seen.map(\.type) == Array(repeating: .twinUpdate, count: 5) + [.twinDelete])
            #expect(seen.map(\.payload).prefix(5).compactMap { $0["@id"]?.stringValue } == ids)
            #expect(seen.map(\.id) == seen.map(\.id).sorted())
            #expect(seen.allSatisfy { $0.actor == "service:discovery" })

            var resumed: RegistryEvent?
            for try await event in registry.events(since: seen[3].id, types: ["twin.delete"]) {
                resumed = event
                break
            }
            #expect(resumed?.id == seen[5].id)
        }
    }

    @Test func anUnreachableRegistryIsRetryable() async throws {
        let http = try HTTPClient()
        let registry = RegistryClient(baseURL: "http://127.0.0.1:\(TestPorts.free())", token: "t", http: http)
        let error = await #expect(throws: RegistryClientError.self) { try await registry.twin("dt:x") }
        #expect(error?.isRetryable == true)
        #expect(error?.status == nil)
        await http.shutdown()
    }
}
