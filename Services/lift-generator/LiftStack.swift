import DTPHTTPNIO
import DTPInfluxDB
import DTPMQTT
import DTPServiceKit
import DTPTwinStack
import HTTPTypes
import Logging
import ServiceLifecycle
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The running Lift stack: the twin's tick, its threshold (kept in the state file), the publisher, the
/// InfluxDB sink and the in-memory window the UI reads when there is no InfluxDB.
final class LiftStack: Sendable {
    /// What the state file keeps across restarts.
    struct PersistentState: Codable, Sendable {
        var threshold: Double
    }

    let configuration: LiftConfiguration
    let publisher: TwinPublisher
    let sink: InfluxSink
    let http: NIOHTTPClient
    let logger: Logger
    let stateFile: StateFile<PersistentState>
    let vibration = TimeWindow<VibrationPoint>()
    let alerts = TimeWindow<VibrationAlert>()
    private let state: Mutex<MutableState>

    private struct MutableState {
        var twin: LiftTwin
        var threshold: Double
        var start: Date?
        var ticks = 0
        var last: LiftTelemetry?
    }

    /// The stack for `configuration`; reads the state file (whose threshold wins over `VIB_THRESHOLD`).
    init(configuration: LiftConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        stateFile = StateFile(directory: configuration.stack.stateDirectory)
        let threshold = try stateFile.load()?.threshold ?? configuration.defaultThreshold
        state = Mutex(
            MutableState(
                twin: LiftTwin(
                    simulation: LiftSimulation(seed: configuration.seed), liftID: configuration.liftID,
                    telemetryTopic: configuration.telemetryTopic, alertTopic: configuration.alertTopic),
                threshold: threshold))
        publisher = try TwinPublisher(
            configuration: configuration.stack.mqtt, queueCapacity: configuration.queueCapacity, logger: logger)
        http = NIOHTTPClient(connectTimeout: .seconds(5), timeout: .seconds(15))
        sink = InfluxSink(
            local: configuration.stack.localInflux, central: configuration.stack.centralInflux, http: http,
            logger: logger)
    }

    /// The current threshold.
    var threshold: Double { state.withLock { $0.threshold } }
    /// Ticks so far.
    var tickCount: Int { state.withLock { $0.ticks } }
    /// The last telemetry.
    var last: LiftTelemetry? { state.withLock { $0.last } }

    /// One tick at `date`: simulate, publish, record.
    @discardableResult
    func tick(at date: Date) -> LiftTick {
        let tick = state.withLock { state -> LiftTick in
            let start = state.start ?? date
            state.start = start
            let made = state.twin.tick(at: date, t: date.timeIntervalSince(start), threshold: state.threshold)
            state.ticks += 1
            state.last = made.telemetry
            return made
        }
        // Recorded before it is published, so that whatever a subscriber has seen the UI's API has too.
        vibration.append(VibrationPoint(ts: tick.telemetry.ts, rms: tick.telemetry.rms), at: date)
        sink.write(
            [
                InfluxPoint(
                    measurement: "vibration", tags: ["lift_id": configuration.liftID],
                    fields: [("rms", .float(tick.telemetry.rms))], timestamp: TwinTimestamp.influxTimestamp(date))
            ])
        if let alert = tick.alert { record(alert, at: date) }
        for message in tick.messages { publisher.send(message) }
        return tick
    }

    /// Changes the threshold from the next tick on and stores it.
    func setThreshold(_ value: Double) throws {
        guard value.isFinite, (0...1000).contains(value) else {
            throw APIError.badRequest("threshold must be a number from 0 to 1000")
        }
        state.withLock { $0.threshold = value }
        do {
            try stateFile.save(PersistentState(threshold: value))
        } catch {
            logger.error("could not write the state file", metadata: ["path": "\(stateFile.url.path)", "error": "\(error)"])
            throw APIError(.internalServerError, "the threshold applies now but could not be stored: \(error)")
        }
        logger.info("threshold changed", metadata: ["threshold": "\(value)"])
    }

    /// Publishes an alert now with the last RMS, as the UI's button asks.
    func triggerAlert(at date: Date = Date()) -> VibrationAlert {
        let (rms, threshold) = state.withLock { ($0.last?.rms ?? 0, $0.threshold) }
        let alert = VibrationAlert(
            lift_id: configuration.liftID, rms: rms, threshold: threshold, ts: TwinTimestamp.string(date))
        record(alert, at: date)
        publisher.send(OutboundMessage(topic: configuration.alertTopic, json: alert, qos: .atLeastOnce))
        return alert
    }

    private func record(_ alert: VibrationAlert, at date: Date) {
        alerts.append(alert, at: date)
        sink.write(
            [
                InfluxPoint(
                    measurement: "alert", tags: ["lift_id": configuration.liftID],
                    fields: [("rms", .float(alert.rms)), ("threshold", .float(alert.threshold))],
                    timestamp: TwinTimestamp.influxTimestamp(date))
            ], mirror: true)
    }

    /// The vibration of the last `minutes`: from the stack's InfluxDB when configured, else from memory.
    func vibration(minutes: Int) async throws -> [VibrationPoint] {
        if let local = sink.local {
            let rows = try await query(local, measurement: "vibration", fields: ["rms"], minutes: minutes)
            return rows.compactMap { row in
                guard let ts = TwinTimestamp.string(row), let rms = row.double("rms") else { return nil }
                return VibrationPoint(ts: ts, rms: rms)
            }
        }
        return vibration.elements(since: Date().addingTimeInterval(-Double(minutes) * 60)).map(\.element)
    }

    /// The alerts of the last `minutes`, oldest first.
    func alerts(minutes: Int) async throws -> [VibrationAlert] {
        if let local = sink.local {
            let rows = try await query(local, measurement: "alert", fields: ["rms", "threshold"], minutes: minutes)
            return rows.compactMap { row in
                guard let ts = TwinTimestamp.string(row), let rms = row.double("rms"),
                    let threshold = row.double("threshold")
                else { return nil }
                return VibrationAlert(lift_id: configuration.liftID, rms: rms, threshold: threshold, ts: ts)
            }
        }
        return alerts.elements(since: Date().addingTimeInterval(-Double(minutes) * 60)).map(\.element)
    }

    private func query(
        _ client: InfluxDBClient, measurement: String, fields: [String], minutes: Int
    ) async throws -> [InfluxRow] {
        let columns = fields.map(InfluxQL.identifier).joined(separator: ", ")
        let statement =
            "SELECT \(columns) FROM \(InfluxQL.identifier(measurement)) WHERE \"lift_id\" = "
            + "\(InfluxQL.string(configuration.liftID)) AND time > now() - \(minutes)m ORDER BY time ASC"
        do {
            return try await client.query(statement, epoch: .microseconds).series.flatMap(\.rows)
        } catch {
            throw APIError.unavailable("the stack's InfluxDB did not answer: \(error)")
        }
    }

    /// The services the application runs: the HTTP client (stopped last), the publisher, the sink, the
    /// registration and the tick loop.
    var services: [any Service] {
        var services = TwinStackServices.common(
            name: "dtp-lift", twinRef: configuration.twinRef, settings: configuration.stack, http: http,
            publisher: publisher, sink: sink, logger: logger)
        services.append(TickLoop(interval: configuration.interval) { [self] date in self.tick(at: date) })
        return services
    }
}
