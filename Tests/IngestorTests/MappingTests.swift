import DTPHTTP
import DTPInfluxDB
import DTPMQTT
import DTPPostgres
import DTPTestSupport
import Foundation
import Testing

/// The earlier system's payloads, published to a live `dtp-ingestor`, land in Postgres and InfluxDB with
/// the right values.
@Suite("Mapping of the earlier payloads")
struct MappingTests {
    @Test("sensor readings, lift and HVAC payloads land in both stores")
    func earlierPayloads() async throws {
        let http = try HTTPClient()
        let base = Harness.uniqueName("t/")
        var setup = try await IngestorSetup.make(topics: [base + "/#"])
        setup.extra["DTP_INGEST_BATCH_MS"] = "50"
        let ingestor = try setup.start()
        let pool = try Harness.pool(setup.database)
        do {
            #expect(await ingestor.waitUntilReady(http))
            let mqtt = try await Harness.publisher(port: setup.mqttPort)
            let signalID = UUID().uuidString.lowercased()
            let sensor = """
                {"signal_id": "\(signalID)", "name": "temp_room_1", "unit": "C", "value": 21.5, \
                "ts": "2026-11-29T10:54:10.145007+00:00", "source": "sim-publisher"}
                """
            let alert = """
                {"type": "vibration_alert", "lift_id": "lift-001", "rms": 2.31, "threshold": 2.0, \
                "ts": "2026-11-29T10:54:11.000000+00:00", "source": "lift-twin"}
                """
            let energy = """
                {"type": "energy_status", "site": "site-a", "hvac_state": "COOLING", "kw": 15.2, "kwh": 0.25, \
                "cost": 0.063, "ts": "2026-11-29T10:54:12.000000+00:00", "source": "energy-hvac-twin"}
                """
            let event = """
                {"type": "hvac_event", "site": "site-a", "state": "HEATING", "ts": "2026-11-29T10:54:13.000000+00:00", \
                "source": "energy-hvac-twin", "severity": "error"}
                """
            let telemetry = #"{"lift_id": "lift-001", "rms": 1.25}"#
            try await mqtt.publish(sensor, to: base + "/sensors/room1/temp")
            try await mqtt.publish(alert, to: base + "/lift/alerts")
            try await mqtt.publish(energy, to: base + "/energy_hvac/events")
            try await mqtt.publish(event, to: base + "/energy_hvac/events")
            try await mqtt.publish(telemetry, to: base + "/lift/telemetry")
            // Published twice: stored once.
            try await mqtt.publish(alert, to: base + "/lift/alerts")
            let stored = await Harness.eventually {
                let observations = await Harness.scalar(pool, "SELECT count(*)::bigint FROM telemetry.observation")
                let events = await Harness.scalar(pool, "SELECT count(*)::bigint FROM telemetry.event_log")
                return observations == 7 && events == 2
            }
            #expect(stored)

            // The sensor: its own signal id, name, unit; value and ts as published.
            let sensorRows = try await pool.query(
                """
                SELECT s.name, s.unit, o.value_double, to_char(o.ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), o.source
                FROM telemetry.observation o JOIN telemetry.signal s USING (signal_id) WHERE o.signal_id = $1
                """, [signalID])
            #expect(sensorRows.count == 1)
            if let row = sensorRows.first {
                #expect(try row.decode(String.self, at: 0) == "temp_room_1")
                #expect(try row.decode(String.self, at: 1) == "C")
                #expect(try row.decode(Double.self, at: 2) == 21.5)
                #expect(try row.decode(String.self, at: 3) == "2026-11-29T10:54:10.145007")
                #expect(try row.decode(String.self, at: 4) == "sim-publisher")
            }
            // Generic objects: one observation per numeric field, signal <topic>/<field> without a twin.
            let values = Dictionary(
                uniqueKeysWithValues: try await pool.query("SELECT signal_id, value_double FROM telemetry.observation")
                    .map { (try $0.decode(String.self, at: 0), try $0.decode(Double.self, at: 1)) })
            #expect(values[base + "/lift/alerts/rms"] == 2.31)
            #expect(values[base + "/lift/alerts/threshold"] == 2.0)
            #expect(values[base + "/energy_hvac/events/kw"] == 15.2)
            #expect(values[base + "/energy_hvac/events/kwh"] == 0.25)
            #expect(values[base + "/energy_hvac/events/cost"] == 0.063)
            #expect(values[base + "/lift/telemetry/rms"] == 1.25)
            // Events: alert by type (1), hvac_event with the payload's severity (error = 2).
            let events = try await pool.query("SELECT type, severity, source, body->>'state' FROM telemetry.event_log ORDER BY ts")
            #expect(try events.map { try $0.decode(String.self, at: 0) } == ["vibration_alert", "hvac_event"])
            #expect(try events.map { try $0.decode(Int.self, at: 1) } == [1, 2])
            #expect(try events.last?.decode(String?.self, at: 3) == "HEATING")
            // A payload without ts is stored at its time of receipt.
            let age = await Harness.scalar(
                pool,
                "SELECT extract(epoch FROM now() - ts)::bigint FROM telemetry.observation WHERE signal_id = '\(base)/lift/telemetry/rms'")
            #expect(age != nil && age! < 120)

            // InfluxDB: measurement from type or topic leaf, tags for source and signal, fields.
            let influx = try Harness.influx(database: setup.influxDatabase, http: http)
            let influxed = await Harness.eventually {
                var counts: [Int] = []
                for (measurement, field) in [
                    ("vibration_alert", "rms"), ("temp", "value"), ("energy_status", "kw"), ("hvac_event", "state"),
                    ("telemetry", "rms"),
                ] {
                    counts.append(await Harness.influxCount(influx, measurement, field: field))
                }
                return counts == [1, 1, 1, 1, 1]
            }
            #expect(influxed)
            let point = try await influx.query(
                "SELECT rms, threshold, lift_id, source FROM vibration_alert", epoch: .microseconds)
            let row = point.series.first?.rows.first
            #expect(row?.double("rms") == 2.31)
            #expect(row?.string("lift_id") == "lift-001")
            #expect(row?.string("source") == "lift-twin")
            #expect(row?.int("time") == 1_795_949_651_000_000)
            let temp = try await influx.query("SELECT value, signal, unit FROM temp")
            #expect(temp.series.first?.rows.first?.double("value") == 21.5)
            #expect(temp.series.first?.rows.first?.string("signal") == signalID)

            // /api/last-data needs a token; no twin declares these topics, so it is empty.
            let unauthorized = try await http.execute(HTTPRequest(url: ingestor.baseURL + "/api/last-data"))
            #expect(unauthorized.status == 401)
            #expect(unauthorized.bodyText.contains("detail"))
            let answer = try await http.execute(
                HTTPRequest(url: ingestor.baseURL + "/api/last-data", headers: ["Authorization": "Bearer \(setup.token)"]))
            #expect(answer.status == 200)
            #expect(answer.bodyText == "[]")
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
