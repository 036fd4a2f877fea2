import DTPHTTP
import DTPInfluxDB
import DTPTestSupport
import DTPTwinStackTestSupport
import DTPTwinStack
import Foundation
import Testing

@testable import HVACGenerator

/// The Energy & HVAC app with its own InfluxDB and a central one, both real 1.x databases without a token.
@Suite struct HVACInfluxTests {
    @Test func energyAndEventsLandInTheStacksInfluxDBAndOnlyEventsAreMirrored() async throws {
        try await TwinStackInflux.with(http: HVACTest.http) { influx in
            let broker = try HVACTest.brokerURL
            let site = "site-influx-\(UUID().uuidString.prefix(8).lowercased())"
            let (environment, events, _) = HVACTest.environment(
                brokerURL: broker, extra: influx.environment.merging(["SITE_ID": site, "ENERGY_RATE": "0.3"]) { $1 })
            let collector = try await Collector(brokerURL: broker, topics: [events])
            defer { Task { await collector.close() } }
            let hvac = try await RunningHVAC.start(environment)
            #expect(hvac.stack.sink.local?.configuration.api == .v1)
            try await Wait.until("statuses and state changes", within: 90) {
                collector.decoded(EnergyStatus.self, on: events).filter { $0.type == "energy_status" }.count >= 20
                    && collector.decoded(HVACEvent.self, on: events).filter { $0.type == "hvac_event" }.count >= 2
            }
            let seenStatuses = collector.decoded(EnergyStatus.self, on: events).filter { $0.type == "energy_status" }
            let seenEvents = collector.decoded(HVACEvent.self, on: events).filter { $0.type == "hvac_event" }

            // The sink flushes once a second: wait until what a subscriber saw is stored.
            let siteFilter = "WHERE \"site\" = \(InfluxQL.string(site))"
            let energyQuery = "SELECT \"kw\", \"kwh\", \"cost\", \"hvac_state\" FROM \"energy\" \(siteFilter)"
            let eventQuery = "SELECT \"state\" FROM \"hvac_event\" \(siteFilter)"
            try await Wait.until("the seen statuses and events in the stack's InfluxDB", within: 60) {
                let energy = (try? await TwinStackInflux.rows(influx.local, energyQuery)) ?? []
                let changes = (try? await TwinStackInflux.rows(influx.local, eventQuery)) ?? []
                let energyTimes = Set(energy.compactMap(TwinTimestamp.string))
                let eventTimes = Set(changes.compactMap(TwinTimestamp.string))
                return seenStatuses.allSatisfy { energyTimes.contains($0.ts) }
                    && seenEvents.allSatisfy { eventTimes.contains($0.ts) }
            }

            // Points that only InfluxDB holds: the API shows them, so it reads InfluxDB, not its memory.
            let now = Date()
            let extraDate = now.addingTimeInterval(-90)
            let extraTS = TwinTimestamp.string(extraDate)
            func energy(_ site: String, kw: Double, secondsAgo: Double) -> InfluxPoint {
                InfluxPoint(
                    measurement: "energy", tags: ["site": site, "hvac_state": "COOLING"],
                    fields: [("kwh", .float(kw / 60)), ("kw", .float(kw)), ("cost", .float(kw / 60 * 0.3))],
                    timestamp: TwinTimestamp.influxTimestamp(now.addingTimeInterval(-secondsAgo)))
            }
            try await influx.local.write([
                energy(site, kw: 99.5, secondsAgo: 90),
                energy("another-site", kw: 77, secondsAgo: 70),  // another site: not this stack's
                energy(site, kw: 55, secondsAgo: 600),  // outside `mins=5`
                InfluxPoint(
                    measurement: "hvac_event", tags: ["site": site], fields: [("state", .string("HEATING"))],
                    timestamp: TwinTimestamp.influxTimestamp(extraDate)),
            ])
            let energyPoints = try await HVACTest.get(hvac.baseURL + "/api/energy?mins=5", as: [EnergyPoint].self)
            let cost = try await HVACTest.get(hvac.baseURL + "/api/cost?mins=5", as: [CostPoint].self)
            let listed = try await HVACTest.get(hvac.baseURL + "/api/events?mins=5", as: [HVACEvent].self)
            let wider = try await HVACTest.get(hvac.baseURL + "/api/energy?mins=15", as: [EnergyPoint].self)
            await hvac.stop()

            #expect(energyPoints.contains(EnergyPoint(ts: extraTS, kw: 99.5, kwh: 99.5 / 60, hvac_state: "COOLING")))
            #expect(cost.contains(CostPoint(ts: extraTS, cost: 99.5 / 60 * 0.3)))
            #expect(listed.contains(HVACEvent(site: site, state: "HEATING", ts: extraTS)))
            #expect(!energyPoints.contains { $0.kw == 77 || $0.kw == 55 })
            #expect(wider.contains { $0.kw == 55 })
            let energyByTime = Dictionary(energyPoints.map { ($0.ts, $0) }, uniquingKeysWith: { first, _ in first })
            let costByTime = Dictionary(cost.map { ($0.ts, $0.cost) }, uniquingKeysWith: { first, _ in first })
            for status in seenStatuses {
                let expected = EnergyPoint(ts: status.ts, kw: status.kw, kwh: status.kwh, hvac_state: status.hvac_state)
                #expect(energyByTime[status.ts] == expected)
                #expect(costByTime[status.ts] == status.cost)
            }
            for event in seenEvents { #expect(listed.contains(event), "event \(event.ts) missing or different") }
            #expect(energyPoints.map(\.ts) == energyPoints.map(\.ts).sorted())
            #expect(listed.map(\.ts) == listed.map(\.ts).sorted())

            // The stack created its own database, with the documented measurements, tags and fields.
            #expect(try await influx.databases().contains(influx.local.configuration.database))
            #expect(try await TwinStackInflux.measurements(influx.local) == ["energy", "hvac_event"])
            let energySchema = try await TwinStackInflux.schema(influx.local, "energy")
            #expect(energySchema.fields == ["kwh": "float", "kw": "float", "cost": "float"])
            #expect(energySchema.tags == ["site", "hvac_state"])
            let eventSchema = try await TwinStackInflux.schema(influx.local, "hvac_event")
            #expect(eventSchema.fields == ["state": "string"])
            #expect(eventSchema.tags == ["site"])

            // The central database holds every state change (the final flush ran at shutdown) and no
            // energy; the extra event was written to the stack's database only.
            func described(_ rows: [InfluxRow]) -> Set<String> {
                Set(rows.map { "\(TwinTimestamp.string($0) ?? "?") \($0.string("state") ?? "?")" })
            }
            let localEvents = described(try await TwinStackInflux.rows(influx.local, eventQuery))
            let centralEvents = described(try await TwinStackInflux.rows(influx.central, eventQuery))
            #expect(try await TwinStackInflux.measurements(influx.central) == ["hvac_event"])
            #expect(centralEvents == localEvents.subtracting(["\(extraTS) HEATING"]))
            for event in seenEvents { #expect(centralEvents.contains("\(event.ts) \(event.state)")) }
            #expect(hvac.stack.sink.droppedPoints == 0)
        }
    }
}
