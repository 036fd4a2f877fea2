import ArgumentParser
import DTPMQTT
import DTPServiceKit
import DTPTwinStack

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `dtp-hvac`: The Energy & HVAC twin stack: HVAC states, power, energy and cost, and its UI.
@main
struct HVACGeneratorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dtp-hvac",
        abstract: "The Energy & HVAC twin stack: HVAC states, power, energy and cost, and its UI.")

    @OptionGroup var options: ServiceOptions
    @OptionGroup var generator: GeneratorOptions

    func run() async throws {
        if let fleet = generator.fleet {
            var reader = ConfigReader(options.applied(to: ProcessInfo.processInfo.environment))
            let configuration = HVACConfiguration(reader: &reader, seed: generator.seed, interval: generator.interval)
            let plan = try generator.fleetPlan(size: fleet, reader: &reader)
            let report = try await HVACFleetMode.run(configuration: configuration, plan: plan)
            print(String(decoding: TwinJSON.encode(report), as: UTF8.self))
            return
        }
        TwinStackFootprint.trim()
        try await ServiceMain.run(options: options) { reader in
            try buildApplication(
                configuration: HVACConfiguration(reader: &reader, seed: generator.seed, interval: generator.interval))
        }
    }
}

/// Runs the Energy & HVAC fleet mode and reports the rate it achieved.
enum HVACFleetMode {
    static func run(configuration: HVACConfiguration, plan: FleetPlan) async throws -> FleetRunner.Report {
        let logger = ServiceLogging.bootstrap(service: "hvac", level: configuration.service.logLevel)
        var source = HVACFleet(
            count: plan.size, seed: configuration.seed, qos: plan.qos, interval: configuration.interval.seconds,
            configuration: configuration)
        return try await plan.run(mqtt: configuration.stack.mqtt, logger: logger, source: &source)
    }
}
