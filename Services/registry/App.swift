import ArgumentParser
import DTPServiceKit

/// `dtp-registry`: The Digital Twin Registry: twins, services, relationships, artifacts and the change stream.
@main
struct RegistryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dtp-registry", abstract: "The Digital Twin Registry: twins, services, relationships, artifacts and the change stream.")

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        try await ServiceMain.run(options: options) { reader in
            ServiceApplication.standard(name: "registry", defaultPort: 8081, reader: &reader)
        }
    }
}
