import DTPHTTPNIO
import DTPInfluxDB
import DTPMQTT
import DTPServiceKit
import DTPTwinStack
import Logging
import ServiceLifecycle
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The running Energy & HVAC stack: the twin's tick, the room sensor, the publisher, the InfluxDB sink
/// and the in-memory window the UI reads when there is no InfluxDB.
final class HVACStack: Sendable {
    /// What the state file keeps across restarts: the sensor's signal id, so the ingestor sees one signal.
    struct PersistentState: Codable, Sendable {
        var signal_id: String
    }

    let configuration: HVACConfiguration
    let publisher: TwinPublisher
    let sink: InfluxSink
    let http: NIOHTTPClient
    let logger: Logger
    let signalID: String
    let energy = TimeWindow<EnergyStatus>()
    let events = TimeWindow<HVACEvent>()
    let temperatures = TimeWindow<TemperaturePoint>()
    private let state: Mutex<MutableState>

    private struct MutableState {
        var twin: HVACTwin
        var ticks = 0
        var last: EnergyStatus?
        var lastTick: Date?
    }

    /// The stack for `configuration`; reads (or creates) the state file with the sensor's id.
    init(configuration: HVACConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        let stateFile = StateFile<PersistentState>(directory: configuration.stack.stateDirectory)
        if let stored = try stateFile.load() {
            signalID = stored.signal_id
        } else {
            signalID = UUID().uuidString.lowercased()
            try stateFile.save(PersistentState(signal_id: signalID))
        }
        state = Mutex(
            MutableState(
                twin: HVACTwin(
                    simulation: HVACSimulation(seed: configuration.seed, rate: configuration.energyRate),
                    site: configuration.site, eventTopic: configuration.eventTopic)))
        publisher = try TwinPublisher(
            configuration: configuration.stack.mqtt, queueCapacity: configuration.queueCapacity, logger: logger)
        http = NIOHTTPClient(connectTimeout: .seconds(5), timeout: .seconds(15))
        sink = InfluxSink(
            local: configuration.stack.localInflux, central: configuration.stack.centralInflux, http: http,
            logger: logger)
    }

    /// Ticks so far.
    var tickCount: Int { state.withLock { $0.ticks } }
    /// The last energy status.
    var last: EnergyStatus? { state.withLock { $0.last } }
    /// The room temperature now.
    var temperature: Double { state.withLock { $0.twin.simulation.temperature } }

    /// One tick at `date`: simulate, publish, record.
    @discardableResult
    func tick(at date: Date) -> HVACTick {
        let tick = state.withLock { state -> HVACTick in
            let made = state.twin.tick(at: date, seconds: configuration.interval.seconds)
            state.ticks += 1
            state.last = made.status
            return made
        }
        // Recorded before it is published, so that whatever a subscriber has seen the UI's API has too.
        energy.append(tick.status, at: date)
        let timestamp = TwinTimestamp.influxTimestamp(date)
        sink.write([
            InfluxPoint(
                measurement: "energy", tags: ["site": configuration.site, "hvac_state": tick.status.hvac_state],
                fields: [("kwh", .float(tick.status.kwh)), ("kw", .float(tick.status.kw)), ("cost", .float(tick.status.cost))],
                timestamp: timestamp)
        ])
        if let event = tick.event {
            events.append(event, at: date)
            // Only the event goes to the central InfluxDB; energy stays in the stack's own.
            sink.write(
                [
                    InfluxPoint(
                        measurement: "hvac_event", tags: ["site": configuration.site],
                        fields: [("state", .string(event.state))], timestamp: timestamp)
                ], mirror: true)
        }
        for message in tick.messages { publisher.send(message) }
        return tick
    }

    /// Publishes the room temperature in the earlier sensor format.
    @discardableResult
    func publishSensor(at date: Date) -> SensorReading {
        let reading = SensorReading(
            signal_id: signalID, name: configuration.signalName, unit: configuration.signalUnit,
            value: temperature.rounded(toPlaces: 2), ts: TwinTimestamp.string(date))
        publisher.send(OutboundMessage(topic: configuration.sensorTopic, json: reading, qos: .atLeastOnce))
        temperatures.append(TemperaturePoint(ts: reading.ts, value: reading.value), at: date)
        return reading
    }

    /// The energy of the last `minutes`: from the stack's InfluxDB when configured, else from memory.
    func energy(minutes: Int) async throws -> [EnergyStatus] {
        if let local = sink.local {
            let rows = try await query(local, "SELECT \"kw\", \"kwh\", \"cost\", \"hvac_state\" FROM \"energy\"", minutes)
            return rows.compactMap { row in
                guard let ts = TwinTimestamp.string(row), let kw = row.double("kw"), let kwh = row.double("kwh"),
                    let cost = row.double("cost")
                else { return nil }
                return EnergyStatus(
                    site: configuration.site, hvac_state: row.string("hvac_state") ?? "", kw: kw, kwh: kwh, cost: cost,
                    ts: ts)
            }
        }
        return energy.elements(since: Date().addingTimeInterval(-Double(minutes) * 60)).map(\.element)
    }

    /// The state changes of the last `minutes`, oldest first.
    func events(minutes: Int) async throws -> [HVACEvent] {
        if let local = sink.local {
            let rows = try await query(local, "SELECT \"state\" FROM \"hvac_event\"", minutes)
            return rows.compactMap { row in
                guard let ts = TwinTimestamp.string(row), let state = row.string("state") else { return nil }
                return HVACEvent(site: configuration.site, state: state, ts: ts)
            }
        }
        return events.elements(since: Date().addingTimeInterval(-Double(minutes) * 60)).map(\.element)
    }

    /// The room temperature of the last `minutes` (always from memory: the ingestor stores the sensor).
    func temperatures(minutes: Int) -> [TemperaturePoint] {
        temperatures.elements(since: Date().addingTimeInterval(-Double(minutes) * 60)).map(\.element)
    }

    private func query(_ client: InfluxDBClient, _ select: String, _ minutes: Int) async throws -> [InfluxRow] {
        let statement =
            select + " WHERE \"site\" = \(InfluxQL.string(configuration.site)) AND time > now() - \(minutes)m"
            + " ORDER BY time ASC"
        do {
            return try await client.query(statement, epoch: .microseconds).series.flatMap(\.rows)
        } catch {
            throw APIError.unavailable("the stack's InfluxDB did not answer: \(error)")
        }
    }

    /// The services the application runs: the HTTP client (stopped last), the publisher, the sink, the
    /// registration, the tick loop and the sensor loop.
    var services: [any Service] {
        var services = TwinStackServices.common(
            name: "dtp-hvac", twinRef: configuration.twinRef, settings: configuration.stack, http: http,
            publisher: publisher, sink: sink, logger: logger)
        services.append(TickLoop(interval: configuration.interval) { [self] date in self.tick(at: date) })
        services.append(TickLoop(interval: configuration.sensorInterval) { [self] date in self.publishSensor(at: date) })
        return services
    }
}
