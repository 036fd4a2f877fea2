import DTPHTTP
import DTPMQTT
import DTPServiceKit
import DTPTestSupport
import DTPTwinStackTestSupport
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

@testable import HVACGenerator

/// A Lift application running in the test process on a port of its own, stopped gracefully.
struct RunningHVAC {
    let stack: HVACStack
    let group: ServiceGroup
    let task: Task<Void, any Error>
    let baseURL: String

    static func start(_ environment: [String: String]) async throws -> RunningHVAC {
        var reader = ConfigReader(environment)
        let configuration = HVACConfiguration(reader: &reader)
        try reader.finish()
        let stack = try HVACStack(configuration: configuration, logger: Logger(label: "test.hvac"))
        let app = buildApplication(stack: stack)
        let group = ServiceGroup(
            configuration: .init(services: [app], gracefulShutdownSignals: [], logger: Logger(label: "test.group")))
        let task = Task { try await group.run() }
        let running = RunningHVAC(
            stack: stack, group: group, task: task, baseURL: "http://127.0.0.1:\(configuration.service.port)")
        try await Wait.until("the app answers /healthz", within: 30) {
            (try? await HVACTest.http.execute(DTPHTTP.HTTPRequest(url: running.baseURL + "/healthz")).status) == 200
        }
        return running
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}

enum HVACTest {
    static let http: HTTPClient = {
        // One client for the whole test process; curl's loop thread lives as long as the process.
        // swiftlint:disable:next force_try
        try! HTTPClient()
    }()

    static var brokerURL: String {
        get throws { try TestEnvironment.shared.require("DTP_MQTT_URL") }
    }

    /// An environment for one test: its own port, topics and state folder.
    static func environment(
        brokerURL: String, stateDirectory: String = temporaryDirectory(), extra: [String: String] = [:]
    ) -> (environment: [String: String], events: String, sensor: String) {
        let prefix = "dtp-test/hvac/\(UUID().uuidString)"
        var environment = [
            "DTP_HTTP_PORT": String(TestPorts.free()), "DTP_MQTT_URL": brokerURL,
            "DTP_STATE_DIR": stateDirectory, "MQTT_TOPIC": prefix + "/events",
            "SIM_SENSOR_TOPIC": prefix + "/temp", "TICK_INTERVAL_SEC": "0.05", "PUBLISH_INTERVAL_SEC": "0.2",
            "LOG_LEVEL": "warning",
        ]
        environment.merge(extra) { $1 }
        return (environment, prefix + "/events", prefix + "/temp")
    }

    static func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("dtp-hvac-test-\(UUID().uuidString)").path
    }

    static func get<T: Decodable>(_ url: String, as type: T.Type) async throws -> T {
        try await http.json(.get, url: url, as: T.self)
    }
}
