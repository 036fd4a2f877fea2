import ArgumentParser
import DTPServiceKit

/// `dtp-lift`: The Lift twin stack: vibration simulation, threshold alerts and its UI.
@main
struct LiftGeneratorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dtp-lift", abstract: "The Lift twin stack: vibration simulation, threshold alerts and its UI.")

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        try await ServiceMain.run(options: options) { reader in
            ServiceApplication.standard(name: "lift", defaultPort: 3001, reader: &reader)
        }
    }
}
