import ArgumentParser
import DTPServiceKit

/// `dtp-discovery`: Keeps the registry in step with the twins/**/twin.yaml files.
@main
struct DiscoveryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dtp-discovery", abstract: "Keeps the registry in step with the twins/**/twin.yaml files.")

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        try await ServiceMain.run(options: options) { reader in
            ServiceApplication.standard(name: "discovery", defaultPort: 8082, reader: &reader)
        }
    }
}
