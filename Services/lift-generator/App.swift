import ArgumentParser
import DTPMQTT
import DTPServiceKit
import DTPTwinStack

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `dtp-lift`: The Lift twin stack: vibration simulation, threshold alerts and its UI.
@main
struct LiftGeneratorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dtp-lift", abstract: "The Lift twin stack: vibration simulation, threshold alerts and its UI.")

    @OptionGroup var options: ServiceOptions
    @OptionGroup var generator: GeneratorOptions

    func run() async throws {
        if let fleet = generator.fleet {
            var reader = ConfigReader(options.applied(to: ProcessInfo.processInfo.environment))
            let configuration = LiftConfiguration(reader: &reader, seed: generator.seed, interval: generator.interval)
            let plan = try generator.fleetPlan(size: fleet, reader: &reader)
            let report = try await LiftFleetMode.run(configuration: configuration, plan: plan)
            print(String(decoding: TwinJSON.encode(report), as: UTF8.self))
            return
        }
        TwinStackFootprint.trim()
        try await ServiceMain.run(options: options) { reader in
            try buildApplication(
                configuration: LiftConfiguration(reader: &reader, seed: generator.seed, interval: generator.interval))
        }
    }
}

/// Runs the Lift's fleet mode and reports the rate it achieved.
enum LiftFleetMode {
    static func run(configuration: LiftConfiguration, plan: FleetPlan) async throws -> FleetRunner.Report {
        let logger = ServiceLogging.bootstrap(service: "lift", level: configuration.service.logLevel)
        var source = LiftFleet(
            count: plan.size, seed: configuration.seed, threshold: configuration.defaultThreshold, qos: plan.qos,
            interval: configuration.interval.seconds, configuration: configuration)
        return try await plan.run(mqtt: configuration.stack.mqtt, logger: logger, source: &source)
    }
}
