import ArgumentParser
import DTPServiceKit

/// `dtp-hvac`: The Energy & HVAC twin stack: HVAC states, power, energy and cost, and its UI.
@main
struct HVACGeneratorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dtp-hvac", abstract: "The Energy & HVAC twin stack: HVAC states, power, energy and cost, and its UI.")

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        try await ServiceMain.run(options: options) { reader in
            ServiceApplication.standard(name: "hvac", defaultPort: 3002, reader: &reader)
        }
    }
}
