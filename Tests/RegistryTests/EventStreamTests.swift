import DTPHTTP
import DTPModel
import DTPPostgres
import Foundation
import Testing

@testable import Registry

@Suite("The change stream", .timeLimit(.minutes(3)))
struct EventStreamTests {
    struct Abort: Error {}

    func events(_ registry: RegistryHarness, query: String = "", lastEventID: String = "") -> SSEClient {
        SSEClient(
            client: registry.client, url: registry.baseURL + "/api/registry/events" + query,
            headers: ["Authorization": "Bearer \(registry.token)"], retry: .milliseconds(100),
            maxConsecutiveFailures: 3, lastEventID: lastEventID)
    }

    func outboxIDs(_ registry: RegistryHarness) async throws -> [Int64] {
        try await registry.pool.query("SELECT id FROM registry.event ORDER BY id").map { try $0.decode(Int64.self, at: 0) }
    }

    @Test("one event per committed change, none for a rolled-back or refused one")
    func committedOnly() async throws {
        try await RegistryHarness.with { registry in
            let stream = events(registry, query: "?since=0")
            var iterator = stream.makeAsyncIterator()
            #expect(try await registry.send(.post, "/api/registry/twins", body: twinBody("dt:A", status: "retired")).status == 201)
            // Unchanged re-registration, refused transition and a rolled-back transaction: no events.
            #expect(try await registry.send(.post, "/api/registry/twins", body: twinBody("dt:A", status: "retired")).status == 200)
            #expect(try await registry.send(.patch, "/api/registry/twins/dt:A", body: #"{"metadata": {"status": "active"}}"#).status == 422)
            await #expect(throws: Abort.self) {
                try await registry.pool.transaction { connection in
                    try await EventOutbox.append(
                        [OutboxEvent(tenant: "demo", type: .twinUpdate, payload: ["twin_id": "dt:Ghost"], actor: "test")],
                        on: connection)
                    throw Abort()
                }
            }
            #expect(try await registry.send(.delete, "/api/registry/twins/dt:A").status == 200)
            let first = try #require(try await iterator.next())
            let second = try #require(try await iterator.next())
            #expect(first.event == "twin.update")
            #expect(second.event == "twin.delete")
            let data = try JSONValue(jsonText: first.data)
            #expect(data["type"] == "twin.update")
            #expect(data["tenant"] == "demo")
            #expect(data["payload"]?["twin_id"] == "dt:A")
            #expect(data["payload"]?["interfaces"]?["api"] == "http://localhost:3001")
            #expect(data["ts"]?.stringValue != nil)
            #expect(try JSONValue(jsonText: second.data)["payload"] == ["twin_id": "dt:A"])
            #expect(try await outboxIDs(registry).count == 2)
            #expect(Int64(second.id)! > Int64(first.id)!)
        }
    }

    @Test("live events from concurrent writers arrive in id order, none skipped")
    func concurrentWritersInOrder() async throws {
        try await RegistryHarness.with { registry in
            // since=0 so that events committed before the stream connects are replayed; most arrive live.
            var iterator = events(registry, query: "?since=0").makeAsyncIterator()
            let writers = Task {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for writer in 0..<8 {
                        group.addTask {
                            for index in 0..<40 {
                                let response = try await registry.send(
                                    .post, "/api/registry/twins", body: #"{"@id": "dt:W\#(writer)_\#(index)"}"#)
                                #expect(response.status == 201)
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            var received: [Int64] = []
            while received.count < 320, let event = try await iterator.next() {
                received.append(Int64(event.id)!)
            }
            try await writers.value
            #expect(received == (try await outboxIDs(registry)))
        }
    }

    @Test("a reader waits for a writer that holds a lower event id, then sees both ids in order")
    func readerWaitsForInFlightWriter() async throws {
        // The hub's LISTEN probe wakes a read of the outbox every 2 s. Landing while A holds its transaction
        // open, that read would queue for the outbox lock, and B (which the test awaits before letting A
        // commit) would queue behind it: a wait that the test itself would never end, not one a real writer
        // (which commits right after its event) can cause. So no probe during this test.
        try await RegistryHarness.with(configure: { $0.listenProbeInterval = .seconds(3600) }) { registry in
            let start = try await EventHub.read(registry.pool, after: 0, filter: EventFilter(), limit: 1000).last?.id ?? 0
            // Writer A appends its event (taking the lower id) and keeps its transaction open.
            let (appended, appendedGate) = AsyncStream.makeStream(of: Void.self)
            let (commit, commitGate) = AsyncStream.makeStream(of: Void.self)
            let writerA = Task {
                try await registry.pool.transaction { connection in
                    try await EventOutbox.append(
                        [
                            OutboxEvent(
                                tenant: "demo", type: .twinUpdate, payload: ["twin_id": "dt:Slow"], actor: "test")
                        ], on: connection)
                    appendedGate.yield()
                    for await _ in commit { break }
                }
            }
            for await _ in appended { break }
            // Writer B is not held up by A, and commits the higher id first.
            #expect(try await registry.send(.post, "/api/registry/twins", body: #"{"@id": "dt:Fast"}"#).status == 201)
            let reader = Task {
                try await EventHub.read(registry.pool, after: start, filter: EventFilter(), limit: 1000)
            }
            // The reader is queued on the outbox lock behind A, not returning B's id alone (so is the hub,
            // which B's NOTIFY woke: two waiters).
            try await waitUntil {
                try await registry.pool.query(
                    """
                    SELECT count(*) FROM pg_locks
                    WHERE locktype = 'advisory' AND objid::bigint = $1 AND mode = 'ExclusiveLock' AND NOT granted
                        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                    """, [EventOutbox.lockKey & 0xFFFF_FFFF]
                )[0].decode(Int.self, at: 0) >= 2
            }
            commitGate.yield()
            try await writerA.value
            let records = try await reader.value
            #expect(records.count == 2)
            #expect(records.map(\.id) == records.map(\.id).sorted())
            #expect(records.first?.data.contains("dt:Slow") == true)
            #expect(records.last?.data.contains("dt:Fast") == true)
        }
    }

    /// Polls `condition` until it holds (at most 20 s).
    func waitUntil(_ condition: () async throws -> Bool) async throws {
        for _ in 0..<400 {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("the condition did not hold within 20 s")
    }

    @Test("a client resuming with Last-Event-ID gets every later event once, over 10,000 events")
    func resumeWithoutGapOrDuplicate() async throws {
        try await RegistryHarness.with { registry in
            let writers = Task {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for writer in 0..<10 {
                        group.addTask {
                            for round in 0..<10 {
                                let twins = (0..<100).map { JSONValue.object(["@id": .string("dt:R\(writer)_\(round)_\($0)")]) }
                                // A loaded machine may answer 503 (no database connection free in time),
                                // which a client retries; nothing of a refused bulk is stored.
                                var response = try await registry.send(
                                    .post, "/api/registry/twins/bulk", body: try JSONValue.array(twins).jsonText())
                                while response.status == 503 {
                                    try await Task.sleep(for: .milliseconds(200))
                                    response = try await registry.send(
                                        .post, "/api/registry/twins/bulk", body: try JSONValue.array(twins).jsonText())
                                }
                                #expect(response.status == 200)
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            var received: [Int64] = []
            var first = events(registry, query: "?since=0&types=twin.update").makeAsyncIterator()
            while received.count < 3_333, let event = try await first.next() {
                received.append(Int64(event.id)!)
            }
            // Disconnect (the iterator is dropped) and resume after the last event seen.
            var second = events(registry, query: "?types=twin.update", lastEventID: String(received.last!))
                .makeAsyncIterator()
            while received.count < 10_000, let event = try await second.next() {
                received.append(Int64(event.id)!)
            }
            try await writers.value
            #expect(received.count == 10_000)
            #expect(received == (try await outboxIDs(registry)))
        }
    }

    @Test("heartbeat comments keep an idle stream alive; filters by tenant and type apply")
    func heartbeatAndFilters() async throws {
        try await RegistryHarness.with(heartbeat: .milliseconds(100)) { registry in
            let response = try await registry.client.execute(
                streaming: HTTPRequest(
                    url: registry.baseURL + "/api/registry/events?tenant=blue&types=twin.delete",
                    headers: ["Authorization": "Bearer \(registry.token)"]))
            #expect(response.status == 200)
            #expect(response.headers.first(name: "Content-Type")?.hasPrefix("text/event-stream") == true)
            _ = try await registry.send(.post, "/api/registry/twins", body: twinBody("dt:Red", tenant: "red"))
            _ = try await registry.send(.post, "/api/registry/twins", body: twinBody("dt:Blue", tenant: "blue"))
            _ = try await registry.send(.delete, "/api/registry/twins/dt:Red")
            _ = try await registry.send(.delete, "/api/registry/twins/dt:Blue")
            var text = ""
            for try await chunk in response.body {
                text += String(decoding: chunk, as: UTF8.self)
                if text.contains(": heartbeat"), text.contains("event: twin.delete") { break }
            }
            response.body.cancel()
            #expect(text.contains(": heartbeat"))
            #expect(text.contains("dt:Blue"))
            #expect(!text.contains("dt:Red"))
            #expect(!text.contains("event: twin.update"))
        }
    }
}
