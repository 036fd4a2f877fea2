import DTPHTTP
import DTPMQTT
import DTPPostgres
import DTPTestSupport
import Foundation
import Testing

/// Thirty kinds of malformed payload land in `telemetry.rejected`, none as an observation, and the
/// stream goes on.
@Suite("Malformed payloads")
struct MalformedPayloadTests {
    static let future = Int(Date().timeIntervalSince1970) + 86_400

    /// (expected kind, payload bytes)
    static let cases: [(String, [UInt8])] = [
        ("not_json", Array("hello".utf8)),
        ("not_json", Array(#"{"value": 1"#.utf8)),
        ("not_json", Array(#"{"value": 1}}"#.utf8)),
        ("not_json", Array("{'value': 1}".utf8)),
        ("not_json", Array("{value: 1}".utf8)),
        ("not_json", Array(#"{"a": 1, "a": 2}"#.utf8)),
        ("not_json", Array(#"{"a": 01}"#.utf8)),
        ("not_json", Array(#"{"a": 1,}"#.utf8)),
        ("not_utf8", [0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xFF, 0xFE, 0x22, 0x7D]),
        ("empty", []),
        ("empty", Array("   \n".utf8)),
        ("not_object", Array("[1, 2, 3]".utf8)),
        ("not_object", Array("42".utf8)),
        ("not_object", Array(#""text""#.utf8)),
        ("not_object", Array("null".utf8)),
        ("no_fields", Array("{}".utf8)),
        ("non_finite", Array(#"{"value": NaN}"#.utf8)),
        ("non_finite", Array(#"{"value": Infinity}"#.utf8)),
        ("non_finite", Array(#"{"value": 1e999}"#.utf8)),
        ("too_large", Array(("{\"blob\": \"" + String(repeating: "x", count: 300 * 1024) + "\"}").utf8)),
        ("too_deep", Array((String(repeating: "{\"a\":", count: 40) + "1" + String(repeating: "}", count: 40)).utf8)),
        ("bad_ts", Array(#"{"value": 1, "ts": "yesterday"}"#.utf8)),
        ("bad_ts", Array(#"{"value": 1, "ts": true}"#.utf8)),
        ("bad_ts", Array(#"{"value": 1, "ts": "1970-01-01T00:00:00Z"}"#.utf8)),
        ("future_ts", Array("{\"value\": 1, \"ts\": \(future)}".utf8)),
        ("wrong_type", Array(#"{"name": "t", "value": "warm", "unit": "C"}"#.utf8)),
        ("wrong_type", Array(#"{"name": 7, "value": 1.5}"#.utf8)),
        ("wrong_type", Array(#"{"name": "t", "value": 1.5, "unit": 3}"#.utf8)),
        ("wrong_type", Array(#"{"type": 5, "rms": 1.0}"#.utf8)),
        ("nul_character", Array(#"{"label": "a\u0000b", "v": 1}"#.utf8)),
    ]

    @Test("thirty kinds of malformed payload are rejected, never stored as observations")
    func malformed() async throws {
        #expect(Self.cases.count == 30)
        let http = try HTTPClient()
        let topic = Harness.uniqueName("t/") + "/bad"
        let setup = try await IngestorSetup.make(topics: [topic])
        let ingestor = try setup.start()
        let pool = try Harness.pool(setup.database)
        do {
            #expect(await ingestor.waitUntilReady(http))
            let mqtt = try await Harness.publisher(port: setup.mqttPort)
            for (_, payload) in Self.cases { try await mqtt.publish(payload, to: topic) }
            // A good one after them: the stream was not blocked.
            try await mqtt.publish(#"{"ok": 1}"#, to: topic)
            let done = await Harness.eventually {
                let rejected = await Harness.scalar(pool, "SELECT count(*)::bigint FROM telemetry.rejected")
                let observations = await Harness.scalar(pool, "SELECT count(*)::bigint FROM telemetry.observation")
                return rejected == 30 && observations == 1
            }
            #expect(done)
            let kinds = try await pool.query("SELECT kind, count(*)::bigint FROM telemetry.rejected GROUP BY kind")
            var byKind: [String: Int] = [:]
            for row in kinds { byKind[try row.decode(String.self, at: 0)] = try row.decode(Int.self, at: 1) }
            var expected: [String: Int] = [:]
            for (kind, _) in Self.cases { expected[kind, default: 0] += 1 }
            #expect(byKind == expected)
            // The raw bytes are kept, truncated; the reason says what is wrong.
            let big = try await pool.query(
                "SELECT length(payload), payload_bytes, reason FROM telemetry.rejected WHERE kind = 'too_large'")
            #expect(try big.first?.decode(Int.self, at: 0) == 4096)
            #expect(try big.first?.decode(Int.self, at: 1) == 300 * 1024 + 12)
            let raw = try await pool.query(
                "SELECT encode(payload, 'escape') FROM telemetry.rejected WHERE kind = 'not_object' AND payload = '42'")
            #expect(raw.count == 1)
            #expect(await Harness.eventually { await ingestor.metric(http, "dtp_ingestor_messages_rejected_total") == 30 })
            await mqtt.disconnect()
        } catch {
            Issue.record("\(error)\n\(ingestor.log)")
        }
        await ingestor.stop()
        await pool.close()
        await setup.cleanUp(http: http)
        await http.shutdown()
    }
}
