import DTPHTTP
import DTPMQTT
import DTPTestSupport
import DTPTwinStackTestSupport
import DTPTwinStack
import Foundation
import Synchronization
import Testing

@testable import HVACGenerator

/// The Energy & HVAC app against the shared Mosquitto, with a stand-in registry.
@Suite struct HVACEndToEndTests {
    @Test func publishesTheEarlierPayloadsRegistersAndServesWhatItGenerated() async throws {
        let broker = try HVACTest.brokerURL
        let registrations = Mutex<[TestHTTPServer.Request]>([])
        let registry = try TestHTTPServer { request, connection in
            registrations.withLock { $0.append(request) }
            connection.respond(status: 201, body: Data("{}".utf8))
            return .keepAlive
        }
        let state = HVACTest.temporaryDirectory()
        let (environment, events, sensor) = HVACTest.environment(
            brokerURL: broker, stateDirectory: state,
            extra: [
                "DTP_REGISTRY_URL": registry.baseURL, "DTP_SERVICE_TOKEN_HVAC": "hvac-token",
                "SITE_ID": "site-e2e", "ENERGY_RATE": "0.4", "SIM_SIGNAL_NAME": "temp_e2e",
            ])
        let collector = try await Collector(brokerURL: broker, topics: [events, sensor])
        defer { Task { await collector.close() } }
        let hvac = try await RunningHVAC.start(environment)
        try await Wait.until("status, events and sensor readings", within: 90) {
            collector.decoded(EnergyStatus.self, on: events).filter { $0.type == "energy_status" }.count >= 20
                && collector.decoded(HVACEvent.self, on: events).filter { $0.type == "hvac_event" }.count >= 1
                && collector.decoded(SensorReading.self, on: sensor).count >= 3
        }
        try await Wait.until("the registration", within: 30) { !registrations.withLock { $0.isEmpty } }
        // What a subscriber has seen so far was recorded before it was published, so the API holds it.
        let seenStatuses = collector.decoded(EnergyStatus.self, on: events).filter { $0.type == "energy_status" }
        let seenEvents = collector.decoded(HVACEvent.self, on: events).filter { $0.type == "hvac_event" }
        let energy = try await HVACTest.get(hvac.baseURL + "/api/energy?mins=5", as: [EnergyPoint].self)
        let cost = try await HVACTest.get(hvac.baseURL + "/api/cost?mins=5", as: [CostPoint].self)
        let listed = try await HVACTest.get(hvac.baseURL + "/api/events?mins=5", as: [HVACEvent].self)
        let page = try await HVACTest.http.execute(DTPHTTP.HTTPRequest(url: hvac.baseURL + "/"))
        let script = try await HVACTest.http.execute(DTPHTTP.HTTPRequest(url: hvac.baseURL + "/assets/charts.js"))
        await hvac.stop()

        // Payload keys exactly as the earlier system's.
        for message in collector.messages.prefix(60) {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(message.payload)) as? [String: Any])
            switch object["type"] as? String {
            case "energy_status"?:
                #expect(Set(object.keys) == ["type", "site", "hvac_state", "kw", "kwh", "cost", "ts", "source"])
                #expect(message.qos == .atMostOnce)
            case "hvac_event"?:
                #expect(Set(object.keys) == ["type", "site", "state", "ts", "source"])
                #expect(message.qos == .atLeastOnce)
            default:
                #expect(message.topic == sensor)
                #expect(Set(object.keys) == ["signal_id", "name", "unit", "value", "ts", "source"])
                #expect(object["source"] as? String == "sim-publisher")
            }
        }
        let statuses = collector.decoded(EnergyStatus.self, on: events).filter { $0.type == "energy_status" }
        for status in statuses {
            #expect(status.site == "site-e2e" && status.source == "energy-hvac-twin")
            #expect(abs(status.cost - status.kwh * 0.4) <= 0.0000005 + 1e-12)
        }
        let readings = collector.decoded(SensorReading.self, on: sensor)
        #expect(Set(readings.map(\.signal_id)).count == 1)
        #expect(readings.allSatisfy { $0.name == "temp_e2e" && $0.unit == "C" && (10...35).contains($0.value) })

        // The API holds every status a subscriber saw, and every event.
        let energyByTime = Dictionary(energy.map { ($0.ts, $0) }, uniquingKeysWith: { first, _ in first })
        let costByTime = Dictionary(cost.map { ($0.ts, $0.cost) }, uniquingKeysWith: { first, _ in first })
        for status in seenStatuses {
            #expect(energyByTime[status.ts] == EnergyPoint(ts: status.ts, kw: status.kw, kwh: status.kwh, hvac_state: status.hvac_state))
            #expect(costByTime[status.ts] == status.cost)
        }
        for event in seenEvents {
            #expect(listed.contains(event))
        }
        #expect(page.status == 200 && page.bodyText.contains("/assets/charts.js"))
        #expect(script.status == 200 && script.bodyText.contains("export function lineChart"))

        // Registration: category UI, the own URL, the token.
        let request = try #require(registrations.withLock { $0.first })
        #expect(request.path == "/api/registry/services")
        #expect(request.header("Authorization") == "Bearer hvac-token")
        let body = try #require(try JSONSerialization.jsonObject(with: request.body) as? [String: Any])
        #expect(body["category"] as? String == "UI" && body["twin_ref"] as? String == "dt:EnergyHVAC_001")

        // The sensor keeps its signal_id across a restart with the same state folder.
        var again = environment
        again["DTP_HTTP_PORT"] = String(TestPorts.free())
        again.removeValue(forKey: "DTP_REGISTRY_URL")
        let restarted = try await RunningHVAC.start(again)
        let before = readings.count
        try await Wait.until("sensor readings after the restart", within: 60) {
            collector.decoded(SensorReading.self, on: sensor).count >= before + 2
        }
        await restarted.stop()
        #expect(Set(collector.decoded(SensorReading.self, on: sensor).map(\.signal_id)).count == 1)
        #expect(restarted.stack.signalID == readings.first?.signal_id)
    }
}
