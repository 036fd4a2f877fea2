import DTPHTTP
import DTPMQTT
import DTPPostgres
import DTPTestSupport
import Foundation
import Testing

/// Twins registered at run time in a real `dtp-registry` are subscribed, and stop being stored once
/// deprecated; `/api/last-data` reports their streams.
@Suite("Subscriptions from the registry")
struct RuntimeSubscriptionTests {
    @Test("a twin registered at run time is stored; once deprecated it is not")
    func runtimeSubscription() async throws {
        let http = try HTTPClient()
        let registryDatabase = try await Harness.createDatabase()
        let registryPort = TestPorts.free()
        let registryToken = "reg-" + UUID().uuidString
        let ingestorToken = "ing-" + UUID().uuidString
        var registryEnvironment = try Harness.postgresEnvironment(registryDatabase)
        registryEnvironment["PATH"] = "/usr/bin:/bin"
        registryEnvironment["DTP_HTTP_PORT"] = String(registryPort)
        registryEnvironment["DTP_SERVICE_TOKENS"] = "test:\(registryToken),ingestor:\(ingestorToken)"
        registryEnvironment["DTP_JWT_SECRET"] = String(repeating: "k", count: 40)
        registryEnvironment["LOG_LEVEL"] = "warning"
        let registry = try ServiceProcess(
            binary: try Harness.binary("dtp-registry"), environment: registryEnvironment, port: registryPort)
        let base = Harness.uniqueName("t/")
        let marker = base + "/static"
        var setup = try await IngestorSetup.make(topics: [marker])
        setup.extra["DTP_REGISTRY_URL"] = registry.baseURL
        setup.extra["DTP_SERVICE_TOKEN_INGESTOR"] = ingestorToken
        let ingestor = try setup.start()
        let pool = try Harness.pool(setup.database)
        let headers: HTTPHeaders = ["Authorization": "Bearer \(registryToken)", "Content-Type": "application/json"]
        do {
            #expect(await registry.waitUntilReady(http))
            #expect(await ingestor.waitUntilReady(http))
            let mqtt = try await Harness.publisher(port: setup.mqttPort)
            let twinID = "dt:" + Harness.uniqueName("lift")
            let topic = base + "/lift/telemetry"
            // Before the twin exists, its topic is not stored.
            try await mqtt.publish(#"{"rms": 9.5}"#, to: topic)
            let twin = """
                {"@id": "\(twinID)", "tenant": "demo", "metadata": {"name": "Lift", "status": "active", \
                "units": {"rms": "mm/s"}}, "interfaces": {"data_streams": ["MQTT:\(base)/lift/+"]}}
                """
            let created = try await http.execute(
                HTTPRequest(method: .post, url: registry.baseURL + "/api/registry/twins", headers: headers, body: Data(twin.utf8)))
            #expect(created.status == 201)
            // Subscribed within a second or so: keep publishing until one is stored.
            var sent = 0
            let subscribed = await Harness.eventually(seconds: 15) {
                sent += 1
                try? await mqtt.publish("{\"rms\": \(sent).0, \"id\": \(sent)}", to: topic)
                return await Harness.scalar(pool, "SELECT count(*)::bigint FROM telemetry.observation") ?? 0 > 0
            }
            #expect(subscribed)
            let rows = try await pool.query(
                "SELECT o.signal_id, o.twin_id, s.unit FROM telemetry.observation o JOIN telemetry.signal s USING (signal_id) LIMIT 1")
            #expect(try rows.first?.decode(String.self, at: 0) == twinID + "/rms")
            #expect(try rows.first?.decode(String?.self, at: 1) == twinID)
            #expect(try rows.first?.decode(String?.self, at: 2) == "mm/s")
            #expect(await Harness.scalar(pool, "SELECT count(*)::bigint FROM telemetry.observation WHERE value_double = 9.5") == 0)

            // /api/last-data for the gateway: exactly this shape.
            let lastData = await Harness.eventually {
                let response = try? await http.execute(
                    HTTPRequest(
                        url: ingestor.baseURL + "/api/last-data?twin=\(twinID)&twin=dt:other",
                        headers: ["Authorization": "Bearer \(setup.token)"]))
                guard let response, response.status == 200,
                    let items = try? JSONSerialization.jsonObject(with: response.body) as? [[String: Any]],
                    let item = items.first
                else { return false }
                return items.count == 1 && item["twin_id"] as? String == twinID && item["stream"] as? String == base + "/lift/+"
                    && item["topic"] as? String == topic && (item["last_seen"] as? String)?.hasSuffix("Z") == true
                    && (item["messages"] as? Int ?? 0) >= 1 && Set(item.keys) == ["twin_id", "stream", "topic", "last_seen", "messages"]
            }
            #expect(lastData)

            // Deprecated: unsubscribed, and nothing more is stored for it.
            let deprecated = try await http.execute(
                HTTPRequest(method: .delete, url: registry.baseURL + "/api/registry/twins/\(twinID)?soft=true", headers: headers))
            #expect(deprecated.status == 200 || deprecated.status == 204)
            let gone = await Harness.eventually(seconds: 10) {
                await ingestor.metric(http, "dtp_ingestor_subscriptions") == 1
            }
            #expect(gone)
            try await Task.sleep(for: .milliseconds(500))
            let before = await Harness.scalar(pool, "SELECT count(*)::bigint FROM telemetry.observation") ?? -1
            for index in 0..<5 { try await mqtt.publish("{\"rms\": 77.0, \"id\": \"late-\(index)\"}", to: topic) }
            try await mqtt.publish(#"{"marker": 1}"#, to: marker)
            let markerStored = await Harness.eventually {
                await Harness.scalar(pool, "SELECT count(*)::bigint FROM telemetry.observation WHERE signal_id LIKE '%/marker'") == 1
            }
            #expect(markerStored)
            #expect(await Harness.scalar(pool, "SELECT count(*)::bigint FROM telemetry.observation WHERE signal_id LIKE '%/rms'") == before)
            await mqtt.disconnect()
        } catch {
            Issue.record("\(error)\n\(ingestor.log)\n\(registry.log)")
        }
        await ingestor.stop()
        await registry.stop()
        await pool.close()
        await setup.cleanUp(http: http)
        await Harness.dropDatabase(registryDatabase)
        await http.shutdown()
    }
}
