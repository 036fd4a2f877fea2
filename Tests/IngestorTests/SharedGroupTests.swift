import DTPHTTP
import DTPMQTT
import DTPPostgres
import DTPTestSupport
import Foundation
import Testing

/// Two ingestors in one shared subscription group split a stream between them, and every message is
/// stored once.
@Suite("A shared group of ingestors")
struct SharedGroupTests {
    @Test("two ingestors split a stream with no duplicate rows")
    func sharedGroup() async throws {
        let count = 3000
        let http = try HTTPClient()
        let topic = Harness.uniqueName("t/") + "/meter"
        let setup = try await IngestorSetup.make(topics: [topic])
        let first = try setup.start()
        let second = try setup.start()
        let pool = try Harness.pool(setup.database)
        do {
            #expect(await first.waitUntilReady(http))
            #expect(await second.waitUntilReady(http))
            for ingestor in [first, second] {
                #expect(await Harness.eventually { await ingestor.metric(http, "dtp_ingestor_subscriptions") == 1 })
            }
            try await publishStream(
                port: setup.mqttPort, topic: topic, count: count, rate: 3000, workers: 8,
                baseMicros: Int64(Date().timeIntervalSince1970 * 1_000_000) - 60_000_000)
            let stored = await Harness.eventually {
                await Harness.scalar(pool, "SELECT count(*)::bigint FROM telemetry.observation") == count
            }
            #expect(stored)
            #expect(await Harness.scalar(pool, "SELECT count(DISTINCT message_id)::bigint FROM telemetry.observation") == count)
            let a = await first.metric(http, "dtp_ingestor_messages_received_total")
            let b = await second.metric(http, "dtp_ingestor_messages_received_total")
            #expect(a > 0 && b > 0, "both members took part: \(a) and \(b)")
            #expect(a + b == Double(count), "the broker gave each message to one member: \(a) + \(b)")
        } catch {
            Issue.record("\(error)\n\(first.log)\n\(second.log)")
        }
        await first.stop()
        await second.stop()
        await pool.close()
        await setup.cleanUp(http: http)
        await http.shutdown()
    }
}
