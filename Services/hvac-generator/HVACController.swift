import DTPMQTT
import DTPServiceKit
import DTPTwinStack
import Hummingbird

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The Energy & HVAC UI and its JSON API, as the earlier UI had it, plus temperature and status.
struct HVACController<Context: RequestContext>: Sendable {
    let stack: HVACStack

    struct Status: Encodable {
        var site: String
        var ticks: Int
        var last: EnergyStatus?
        var temperature: Double
        var signal_id: String
        var signal_name: String
        var signal_unit: String
        var energy_rate: Double
        var mqtt_connected: Bool
        var mqtt: TwinPublisher.Statistics
        var influx_local: Bool
        var influx_central: Bool
        var interval_sec: Double
        var event_topic: String
        var sensor_topic: String
    }

    func addRoutes(to router: Router<Context>) {
        TwinStackAssets.addRoutes(to: router)
        router.get("/") { _, _ in TwinStackAssets.html(HVACPage.html) }
        router.get("api/energy") { request, _ in
            let points = try await stack.energy(minutes: try TwinAPI.minutes(request))
            return TwinAPI.json(points.map { EnergyPoint(ts: $0.ts, kw: $0.kw, kwh: $0.kwh, hvac_state: $0.hvac_state) })
        }
        router.get("api/cost") { request, _ in
            let points = try await stack.energy(minutes: try TwinAPI.minutes(request))
            return TwinAPI.json(points.map { CostPoint(ts: $0.ts, cost: $0.cost) })
        }
        router.get("api/events") { request, _ in
            TwinAPI.json(try await stack.events(minutes: try TwinAPI.minutes(request)))
        }
        router.get("api/temperature") { request, _ in
            TwinAPI.json(stack.temperatures(minutes: try TwinAPI.minutes(request)))
        }
        router.get("api/status") { _, _ in
            let configuration = stack.configuration
            return TwinAPI.json(
                Status(
                    site: configuration.site, ticks: stack.tickCount, last: stack.last,
                    temperature: stack.temperature.rounded(toPlaces: 2), signal_id: stack.signalID,
                    signal_name: configuration.signalName, signal_unit: configuration.signalUnit,
                    energy_rate: configuration.energyRate, mqtt_connected: stack.publisher.client.isConnected,
                    mqtt: stack.publisher.statistics, influx_local: stack.sink.local != nil,
                    influx_central: stack.sink.central != nil, interval_sec: configuration.interval.seconds,
                    event_topic: configuration.eventTopic, sensor_topic: configuration.sensorTopic))
        }
    }
}
