import DTPHTTP
import DTPModel
import Foundation
import Logging
import Synchronization
import Testing

@testable import PortalGateway

@Suite("Portal stream")
struct StreamTests {
    @Test("a twin created through the API appears as a card and a stream event within a second; grants filter")
    func liveCardsAndGrants() async throws {
        // New cards go to staff only, so the test decides who else sees what.
        try await GatewayHarness.with(configure: { $0.defaultGrant = .staff }) { gateway in
            let admin = try await gateway.login(GatewayHarness.admin)
            let demo = try await gateway.login(GatewayHarness.demo)
            let outsider = try await gateway.login(try await gateway.createUser("out@example.com", adminToken: admin.access))
            let url = gateway.baseURL + "/api/portal/stream?tenant=demo"
            func open(_ token: String) -> StreamRecorder {
                StreamRecorder(client: gateway.client, url: url, headers: ["Authorization": "Bearer \(token)"])
            }
            let adminStream = open(admin.access)
            let demoStream = open(demo.access)
            let outsiderStream = open(outsider.access)
            defer {
                adminStream.stop()
                demoStream.stop()
                outsiderStream.stop()
            }
            try await gateway.waitFor {
                [adminStream, demoStream, outsiderStream].allSatisfy { $0.received.contains { $0.event == "ready" } }
            }

            let started = ContinuousClock.now
            #expect(try await gateway.createTwin("dt:Live_001", name: "Live lift", adminToken: admin.access).status == 201)
            try await gateway.waitFor(.seconds(1)) {
                !adminStream.matching("dt:Live_001").filter { $0.event == "update" }.isEmpty
                    && !adminStream.matching("card.update").isEmpty
            }
            let cards = try GatewayHarness.json(try await gateway.send(.get, "/api/me/twins/", token: admin.access))
            #expect(cards.arrayValue?.first?["name"] == "Live lift")
            #expect(cards.arrayValue?.first?["ui_url"] == "http://localhost:3001/dt:Live_001")
            #expect(cards.arrayValue?.first?["dtr_id"] == "dt:Live_001")
            #expect(ContinuousClock.now - started < .seconds(2))
            let event = try #require(adminStream.matching("dt:Live_001").first { $0.event == "update" })
            #expect(!event.id.isEmpty)
            let data = try JSONValue(jsonText: event.data)
            #expect(data["type"] == "twin.update" && data["tenant"] == "demo" && data["actor"] == nil)
            #expect(data["payload"]?["twin_id"] == "dt:Live_001")

            // Another tenant's twin never reaches a `tenant=demo` stream.
            #expect(try await gateway.createTwin("dt:Other_001", name: "Other", tenant: "acme", adminToken: admin.access).status == 201)
            #expect(try await gateway.createTwin("dt:Keep_001", name: "Keep", adminToken: admin.access).status == 201)
            try await gateway.waitFor { !adminStream.matching("dt:Keep_001").isEmpty }

            // Grant demo both twins: demo's stream hears of it and then gets their changes.
            for twin in ["dt:Live_001", "dt:Keep_001"] {
                let grant = try await gateway.send(
                    .post, "/api/admin/grants", token: admin.access,
                    json: ["username": .string(GatewayHarness.demo.0), "twin_id": .string(twin)])
                #expect(grant.status == 201)
            }
            try await gateway.waitFor { demoStream.matching("grant.add").count == 2 }
            #expect(try await gateway.createTwin("dt:Live_001", name: "Live lift v1", adminToken: admin.access).status == 200)
            try await gateway.waitFor { !demoStream.matching("Live lift v1").isEmpty }

            // Revoke demo's grant of Live while the stream is open: its later changes do not arrive, while a
            // later change of Keep does (so the stream is alive and in order).
            let cardID = try #require(
                cards.arrayValue?.first { $0["dtr_id"] == "dt:Live_001" }?["twin_id"])
            let revoke = try await gateway.send(
                .delete, "/api/admin/grants", token: admin.access,
                json: ["username": .string(GatewayHarness.demo.0), "twin_id": cardID])
            #expect(revoke.status == 200)
            try await gateway.waitFor { !demoStream.matching("grant.revoke").isEmpty }
            #expect(try await gateway.createTwin("dt:Live_001", name: "Live lift v2", adminToken: admin.access).status == 200)
            #expect(try await gateway.createTwin("dt:Keep_001", name: "Keep v2", adminToken: admin.access).status == 200)
            try await gateway.waitFor { !demoStream.matching("Keep v2").isEmpty }
            #expect(demoStream.matching("Live lift v2").isEmpty)
            #expect(!adminStream.matching("Live lift v2").isEmpty)
            #expect(try await gateway.send(.get, "/api/registry/twins/dt:Live_001", token: demo.access).status == 404)

            // The outsider (no grants) saw no twin and no card at all.
            #expect(outsiderStream.matching("dt:").isEmpty)
            #expect(adminStream.matching("dt:Other_001").isEmpty)
            #expect(demoStream.error == nil && adminStream.error == nil)

            // Resume: a new stream with the last id seen gets what came after it, and nothing before.
            let keep = try #require(demoStream.matching("Keep v2").first)
            let earlier = try #require(demoStream.matching("Live lift v1").first { $0.event == "update" })
            let resumed = StreamRecorder(
                client: gateway.client, url: url, headers: ["Authorization": "Bearer \(demo.access)"],
                lastEventID: earlier.id)
            defer { resumed.stop() }
            try await gateway.waitFor { !resumed.matching("Keep v2").isEmpty }
            #expect(resumed.matching("Keep v2").first?.id == keep.id)
            let replayed = resumed.received.filter { $0.event != "ready" }
            #expect(replayed.allSatisfy { Int64($0.id)! > Int64(earlier.id)! })
            #expect(resumed.matching("Live lift v2").isEmpty)
            #expect(!resumed.matching("grant.revoke").isEmpty)
        }
    }

    @Test("stream auth: one-time ticket, session cookie, no token in the URL; heartbeats")
    func streamAuth() async throws {
        try await GatewayHarness.with { gateway in
            let login = try await gateway.send(
                .post, "/api/token/",
                json: ["username": .string(GatewayHarness.demo.0), "password": .string(GatewayHarness.demo.1)])
            let access = try #require(try GatewayHarness.json(login)["access"]?.stringValue)
            let cookie = try #require(login.headers.first(name: "Set-Cookie")?.split(separator: ";").first.map(String.init))

            let ticketAnswer = try await gateway.send(.post, "/api/portal/stream-ticket", token: access)
            let ticket = try #require(try GatewayHarness.json(ticketAnswer)["ticket"]?.stringValue)
            let byTicket = StreamRecorder(
                client: gateway.client, url: gateway.baseURL + "/api/portal/stream?ticket=\(ticket)", headers: [:])
            defer { byTicket.stop() }
            try await gateway.waitFor { byTicket.received.contains { $0.event == "ready" } || byTicket.error != nil }
            #expect(byTicket.error == nil)
            // Used once: the same ticket is refused.
            #expect(try await gateway.send(.get, "/api/portal/stream?ticket=\(ticket)").status == 401)
            #expect(try await gateway.send(.get, "/api/portal/stream?ticket=made-up").status == 401)

            let byCookie = StreamRecorder(
                client: gateway.client, url: gateway.baseURL + "/api/portal/stream", headers: ["Cookie": cookie])
            defer { byCookie.stop() }
            try await gateway.waitFor { byCookie.received.contains { $0.event == "ready" } || byCookie.error != nil }
            #expect(byCookie.error == nil)
            // The cookie does not authorise writes (no cross-site form can use it).
            #expect(try await gateway.send(.post, "/api/portal/stream-ticket", headers: ["Cookie": cookie]).status == 401)
            #expect(try await gateway.send(.get, "/api/portal/stream?access=\(access)").status == 400)
            // Heartbeats are SSE comments: the raw stream carries them.
            let raw = try await gateway.client.stream(
                HTTPRequest(url: gateway.baseURL + "/api/portal/stream", headers: ["Authorization": "Bearer \(access)"],
                    timeout: .unlimited)
            ) { response -> String in
                var text = ""
                for try await chunk in response.body {
                    text += String(decoding: chunk, as: UTF8.self)
                    if text.contains(": heartbeat") { break }
                }
                return text
            }
            #expect(raw.contains(": heartbeat"))
            #expect(raw.hasPrefix("retry: 3000"))
        }
    }

    @Test("a slow client is dropped with bounded memory while others keep receiving")
    func slowClientDropped() async throws {
        let index = AccessIndex()
        let user = User(id: 1, username: "u", email: "", isStaff: true, isSuperuser: false)
        index.update { $0.users[1] = user }
        let hub = PortalHub(
            index: index, clientBuffer: 8, replayLimit: 16, heartbeat: .seconds(60), logger: .init(label: "test"))
        let slow = hub.subscribe(userID: 1, tenant: nil, lastEventID: nil)
        let fast = hub.subscribe(userID: 1, tenant: nil, lastEventID: nil)
        let consumed = Mutex(0)
        let reader = Task {
            for await item in fast.stream {
                if case .event = item {
                    if consumed.withLock({ count in
                        count += 1
                        return count
                    }) == 100 { break }
                }
            }
        }
        for number in 0..<100 {
            hub.publish(name: "update", data: "{\"n\":\(number)}", tenant: "demo", audience: .everyone)
            // The fast client reads each event before the next is sent.
            let deadline = ContinuousClock.now + .seconds(5)
            while consumed.withLock({ $0 }) <= number, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(1))
            }
        }
        await reader.value
        #expect(consumed.withLock { $0 } == 100)
        #expect(hub.droppedCount >= 1)
        var slowCount = 0
        for await _ in slow.stream { slowCount += 1 }
        #expect(slowCount <= 8)  // the buffer, then the stream ended
        // Resuming too far back (beyond the ring) answers with a reset rather than a gap.
        let late = hub.subscribe(userID: 1, tenant: nil, lastEventID: 1)
        #expect(late.replay == nil)
        hub.unsubscribe(late.key)
        hub.unsubscribe(fast.key)
    }
}
