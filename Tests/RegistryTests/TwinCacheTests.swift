import DTPAuth
import DTPHTTP
import DTPModel
import DTPPostgres
import DTPServiceKit
import DTPTestSupport
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Testing

@testable import Registry

@Suite("The twin cache", .timeLimit(.minutes(3)))
struct TwinCacheTests {
    static func version(_ response: DTPHTTP.HTTPResponse) throws -> Int? {
        try RegistryHarness.json(response)["version"]?.intValue
    }

    static func name(_ response: DTPHTTP.HTTPResponse) throws -> String? {
        try RegistryHarness.json(response)["metadata"]?["name"]?.stringValue
    }

    @Test("a GET after a write on the same replica sees that write; a deleted twin is gone; a new one is new")
    func readYourWrites() async throws {
        try await RegistryHarness.with { registry in
            let path = "/api/registry/twins/dt:Cached"
            #expect(try await registry.send(.post, "/api/registry/twins", body: twinBody("dt:Cached", name: "one")).status == 201)
            // Two reads: the first may fill the cache, the second is then served from it.
            for _ in 0..<2 { #expect(try Self.name(try await registry.send(.get, path)) == "one") }
            #expect(try await registry.send(.post, "/api/registry/twins", body: twinBody("dt:Cached", name: "two")).status == 200)
            let afterUpsert = try await registry.send(.get, path)
            #expect(try Self.name(afterUpsert) == "two")
            #expect(try Self.version(afterUpsert) == 2)
            #expect(afterUpsert.headers.first(name: "ETag") == "\"2\"")

            let patched = try await registry.send(
                .patch, path, body: #"{"metadata": {"name": "three"}}"#,
                headers: ["Content-Type": "application/merge-patch+json", "If-Match": "\"2\""])
            #expect(patched.status == 200)
            #expect(try Self.name(try await registry.send(.get, path)) == "three")
            #expect(try await registry.send(.get, path, headers: ["If-None-Match": "\"3\""]).status == 304)

            #expect(try await registry.send(.delete, path + "?soft=true").status == 200)
            #expect(try RegistryHarness.json(try await registry.send(.get, path))["metadata"]?["status"] == "deprecated")
            #expect(try await registry.send(.delete, path).status == 200)
            #expect(try await registry.send(.get, path).status == 404)
            #expect(try await registry.send(.post, "/api/registry/twins", body: twinBody("dt:Cached", name: "new")).status == 201)
            let recreated = try await registry.send(.get, path)
            #expect(try Self.name(recreated) == "new")
            #expect(try Self.version(recreated) == 1)

            // Bulk writes go through the cache too.
            let bulk = "[" + twinBody("dt:Cached", name: "bulk") + "," + twinBody("dt:Other", name: "other") + "]"
            #expect(try await registry.send(.post, "/api/registry/twins/bulk", body: bulk).status == 200)
            #expect(try Self.name(try await registry.send(.get, path)) == "bulk")
            #expect(try Self.name(try await registry.send(.get, "/api/registry/twins/dt:Other")) == "other")
        }
    }

    @Test("a change on another replica reaches this replica's cache through the change feed")
    func crossReplica() async throws {
        try await RegistryHarness.with { first in
            try await Self.withReplica(of: first) { second in
                let path = "/api/registry/twins/dt:Shared"
                #expect(try await first.send(.post, "/api/registry/twins", body: twinBody("dt:Shared", name: "v1")).status == 201)
                // The second replica reads the twin (and caches it) before it changes elsewhere.
                for _ in 0..<2 { #expect(try Self.name(try await second.send(.get, path)) == "v1") }
                // The stream starts after the last event so far, so it cannot miss the next one.
                let last = try await first.pool.query("SELECT max(id) FROM registry.event")[0].decode(Int64.self, at: 0)
                // Its own client, shut down at the end, which closes the stream, so that the replica need not
                // wait for it when it shuts down.
                let streamClient = try HTTPClient()
                let stream = SSEClient(
                    client: streamClient,
                    url: second.baseURL + "/api/registry/events?types=twin.update,twin.delete&since=\(last)",
                    headers: ["Authorization": "Bearer \(second.token)"], retry: .milliseconds(100),
                    maxConsecutiveFailures: 3)
                let (received, forward) = AsyncStream.makeStream(of: SSEEvent.self)
                let reader = Task {
                    for try await event in stream { forward.yield(event) }
                    forward.finish()
                }
                var events = received.makeAsyncIterator()
                let changed = try await first.send(.post, "/api/registry/twins", body: twinBody("dt:Shared", name: "v2"))
                #expect(changed.status == 200)
                let etag = try #require(changed.headers.first(name: "ETag"))
                try await Self.next(&events, about: "dt:Shared", version: 2)
                // A replica applies an event to its cache before its streams send it.
                let seen = try await second.send(.get, path)
                #expect(try Self.name(seen) == "v2")
                #expect(seen.headers.first(name: "ETag") == etag)

                // A conditional write on the second replica with the tag from the first one succeeds.
                let patched = try await second.send(
                    .patch, path, body: #"{"metadata": {"name": "v3"}}"#,
                    headers: ["Content-Type": "application/merge-patch+json", "If-Match": etag])
                #expect(patched.status == 200)
                #expect(try Self.version(patched) == 3)
                try await Self.next(&events, about: "dt:Shared", version: 3)

                #expect(try await first.send(.delete, path).status == 200)
                let deleted = try #require(await events.next())
                #expect(deleted.event == "twin.delete")
                #expect(try await second.send(.get, path).status == 404)
                reader.cancel()
                await streamClient.shutdown()
            }
        }
    }

    @Test("a change made while the LISTEN connection was down still reaches the cache")
    func lostListener() async throws {
        try await RegistryHarness.with { registry in
            let path = "/api/registry/twins/dt:Deaf"
            #expect(try await registry.send(.post, "/api/registry/twins", body: twinBody("dt:Deaf", name: "before")).status == 201)
            for _ in 0..<2 { #expect(try Self.name(try await registry.send(.get, path)) == "before") }
            // End the registry's LISTEN session and change the twin at once through another writer, while
            // the listener reconnects: its notification is lost, and only the hub's probe finds the change.
            let listeners = try await registry.pool.query(
                """
                SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE datname = current_database() AND query ILIKE 'LISTEN %'
                """)
            #expect(!listeners.isEmpty)
            let draft = try TwinDraft(json: try JSONValue(jsonText: twinBody("dt:Deaf", name: "after")))
            _ = try await PostgresTwinStore(pool: registry.pool).upsert(draft, precondition: .none, actor: "test")
            var name: String?
            for _ in 0..<300 {
                name = try Self.name(try await registry.send(.get, path))
                if name == "after" { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(name == "after")
        }
    }

    /// Skips events until the `twin.update` of `id` at `version`.
    static func next(
        _ events: inout AsyncStream<SSEEvent>.Iterator, about id: String, version: Int
    ) async throws {
        while let event = await events.next() {
            let payload = try JSONValue(jsonText: event.data)["payload"]
            if payload?["twin_id"]?.stringValue == id, payload?["version"]?.intValue == version { return }
        }
        Issue.record("the stream ended before version \(version) of \(id)")
    }

    /// Runs a second registry on the database of `registry`, as another replica.
    static func withReplica(
        of registry: RegistryHarness, _ body: (RegistryHarness) async throws -> Void
    ) async throws {
        var config = registry.config
        config.settings = ServiceSettings(name: "registry", port: TestPorts.free(), logLevel: .warning)
        // An event stream learns that its client left only when it next writes; a short heartbeat lets the
        // replica's shutdown end it at once.
        config.heartbeat = .milliseconds(200)
        let app = try await buildApplication(config)
        let group = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "test.replica")))
        // Its own client, shut down before the replica, so that no connection of it keeps the replica's
        // shutdown waiting.
        let client = try HTTPClient()
        let replica = RegistryHarness(
            baseURL: "http://127.0.0.1:\(config.settings.port)", token: registry.token, client: client,
            pool: registry.pool, config: config)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                try await replica.waitUntilServing()
                try await body(replica)
            } catch {
                await client.shutdown()
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
            await client.shutdown()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test("a stale cache entry costs a retry, never a lost write, a wrong 412 or a skipped change")
    func staleEntriesAreHarmless() async throws {
        let database = try await TestDatabase.create(prefix: "regcache_")
        let pool = PostgresPool(configuration: database, size: 4)
        do {
            try await Migrations.migrate(pool, logger: Logger(label: "test.cache"))
            // Replica A's cache is live but hears of nothing (no event hub): it only knows its own writes.
            let cache = TwinCache(capacityBytes: 1 << 20)
            cache.setLive(true)
            let stale = PostgresTwinStore(pool: pool, cache: cache)
            let other = PostgresTwinStore(pool: pool)
            func draft(_ name: String) throws -> TwinDraft {
                try TwinDraft(json: try JSONValue(jsonText: twinBody("dt:Stale", name: name)))
            }
            _ = try await stale.upsert(try draft("a1"), precondition: .none, actor: "a")
            _ = try await other.upsert(try draft("b2"), precondition: .none, actor: "b")
            // A still holds version 1; the tag of version 2 must pass, the tag of version 1 must not.
            await #expect(throws: APIError.self) {
                _ = try await stale.upsert(try draft("a-old"), precondition: .ifMatch(["\"1\""]), actor: "a")
            }
            let third = try await stale.upsert(try draft("a3"), precondition: .ifMatch(["\"2\""]), actor: "a")
            #expect(third.twin.version == 3)
            // B changes it again; A's next write must build on version 4, not on its own version 3.
            _ = try await other.upsert(try draft("b4"), precondition: .none, actor: "b")
            let fifth = try await stale.upsert(try draft("a5"), precondition: .none, actor: "a")
            #expect(fifth.twin.version == 5)
            // A's cache says "a5"; B writes "b6"; A writing "a5" again is a change, not a no-op.
            _ = try await other.upsert(try draft("b6"), precondition: .none, actor: "b")
            let seventh = try await stale.upsert(try draft("a5"), precondition: .none, actor: "a")
            #expect(seventh.twin.version == 7)
            let patched = try await stale.update(id: "dt:Stale", precondition: .ifMatch(["\"7\""]), actor: "a") {
                var draft = TwinDraft($0)
                draft.metadata["name"] = "a8"
                return draft
            }
            #expect(patched.twin.version == 8)
            let history = try await pool.query(
                "SELECT version, doc->'metadata'->>'name' FROM registry.twin_history WHERE twin_id = 'dt:Stale' ORDER BY seq")
            #expect(try history.map { try $0.decode(Int.self, at: 0) } == Array(1...8))
            #expect(try history.map { try $0.decode(String.self, at: 1) } == ["a1", "b2", "a3", "b4", "a5", "b6", "a5", "a8"])
            let events = try await pool.query("SELECT count(*) FROM registry.event")[0].decode(Int.self, at: 0)
            #expect(events == 8)
            // A twin deleted elsewhere: A's cache still has it, but a PATCH is confirmed against the row.
            try await other.delete(id: "dt:Stale", soft: false, precondition: .none, actor: "b")
            await #expect(throws: APIError.self) {
                _ = try await stale.update(id: "dt:Stale", precondition: .none, actor: "a") { TwinDraft($0) }
            }
        } catch {
            await pool.close()
            try? await TestDatabase.drop(database)
            throw error
        }
        await pool.close()
        try await TestDatabase.drop(database)
    }

    static func twin(_ index: Int, name: String = "x") -> CachedTwin {
        let twin = Twin(
            id: "dt:T\(index)", tenant: "demo", metadata: ["name": .string(name)],
            createdAt: Timestamp(microsecondsSinceEpoch: 0), updatedAt: Timestamp(microsecondsSinceEpoch: 0))
        return CachedTwin(twin, json: try! twin.jsonValue.jsonText())
    }

    static func record(_ id: Int64, _ twin: CachedTwin) -> OutboxRecord {
        OutboxRecord(
            id: id, tenant: "demo", type: "twin.update",
            data: EventOutbox.twinUpdateData(
                doc: String(buffer: twin.body), tenant: "demo", actor: "test", ts: Timestamp.now().iso8601))
    }

    @Test("the cache stays within its capacity, and never stores a state older than one it dropped")
    func evictionBound() throws {
        let capacity = 64 << 10
        let cache = TwinCache(capacityBytes: capacity)
        #expect(cache.cached("dt:T0") == nil)
        cache.setLive(true)
        for index in 0..<1_000 {
            cache.wrote("dt:T\(index)", Self.twin(index), event: Int64(index + 1))
            #expect(cache.usage.bytes <= capacity)
        }
        #expect(cache.usage.evictions > 0)
        #expect(cache.usage.entries < 1_000)
        // The oldest went first; the newest is there.
        #expect(cache.cached("dt:T0") == nil)
        #expect(cache.cached("dt:T999")?.twin.id == "dt:T999")
        // A read that began before the dropped entries were written must not bring back an older state.
        cache.fill("dt:T0", Self.twin(0, name: "old"), readAfter: 1)
        #expect(cache.cached("dt:T0") == nil)
        // One that began after them may.
        cache.fill("dt:T0", Self.twin(0, name: "fresh"), readAfter: 1_000)
        #expect(cache.cached("dt:T0")?.twin.name == "fresh")
    }

    @Test("events replace older entries only; a deletion is remembered; an unreadable event empties the cache")
    func feedOrdering() throws {
        let cache = TwinCache(capacityBytes: 1 << 20)
        cache.setLive(true)
        cache.wrote("dt:T1", Self.twin(1, name: "local"), event: 10)
        // An older event (a write this replica's own write replaced) changes nothing.
        cache.apply([Self.record(9, Self.twin(1, name: "older"))])
        #expect(cache.cached("dt:T1")?.twin.name == "local")
        // A newer one from another replica replaces it.
        cache.apply([Self.record(11, Self.twin(1, name: "remote"))])
        #expect(cache.cached("dt:T1")?.twin.name == "remote")
        #expect(cache.position == 11)
        cache.apply([
            OutboxRecord(
                id: 12, tenant: "demo", type: "twin.delete",
                data: #"{"actor":"b","payload":{"twin_id":"dt:T1"},"tenant":"demo","ts":"x","type":"twin.delete"}"#)
        ])
        guard case .absent = cache.lookup("dt:T1") else {
            Issue.record("a deleted twin should be known as absent")
            return
        }
        // A read that began before the deletion does not bring the twin back.
        cache.fill("dt:T1", Self.twin(1, name: "ghost"), readAfter: 11)
        guard case .absent = cache.lookup("dt:T1") else {
            Issue.record("a read older than the deletion replaced it")
            return
        }
        cache.wrote("dt:T2", Self.twin(2), event: 13)
        cache.apply([OutboxRecord(id: 14, tenant: "demo", type: "twin.update", data: "not json")])
        #expect(cache.usage.entries == 0)
        // Without a hub following the feed, the cache answers nothing.
        cache.setLive(false)
        cache.wrote("dt:T3", Self.twin(3), event: 15)
        #expect(cache.cached("dt:T3") == nil)
    }

    @Test("a verified access token is checked once until it expires, then verified again")
    func verifiedTokens() throws {
        let signer = try HS256Signer(secret: RegistryHarness.jwtSecret)
        let issued = Date(timeIntervalSince1970: 1_800_000_000)
        let token = try signer.sign(AccessTokenClaims.access(userID: 7, isStaff: true, now: issued))
        let tokens = VerifiedTokens(capacity: 2)
        var verifications = 0
        func claims(at now: Date) throws -> AccessTokenClaims {
            try tokens.claims(for: token, now: now) {
                verifications += 1
                return try signer.verifyAccessToken($0, now: now)
            }
        }
        #expect(try claims(at: issued).userID == 7)
        #expect(try claims(at: issued.addingTimeInterval(60)).userID == 7)
        #expect(verifications == 1)
        // Past its expiry (5 minutes) the token is verified again, and refused.
        #expect(throws: AuthError.self) { try claims(at: issued.addingTimeInterval(301)) }
        #expect(verifications == 2)
        #expect(tokens.count == 0)
        // A forged token is never cached.
        #expect(throws: AuthError.self) {
            try tokens.claims(for: token + "x", now: issued) { try signer.verifyAccessToken($0, now: issued) }
        }
        #expect(tokens.count == 0)
        // Beyond its capacity the cache keeps at most that many.
        for user in 0..<5 {
            let other = try signer.sign(AccessTokenClaims.access(userID: Int64(user), isStaff: true, now: issued))
            _ = try tokens.claims(for: other, now: issued) { try signer.verifyAccessToken($0, now: issued) }
        }
        #expect(tokens.count <= 2)
    }
}

extension TwinCache {
    /// The cached twin, or nil when the cache does not hold it as present.
    fileprivate func cached(_ id: String) -> CachedTwin? {
        guard case .present(let twin) = lookup(id) else { return nil }
        return twin
    }
}
