import ArgumentParser
import DTPServiceKit

/// `dtp-gateway`: The portal gateway: login, grants, the admin API, live portal events and the portal page.
@main
struct PortalGatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dtp-gateway", abstract: "The portal gateway: login, grants, the admin API, live portal events and the portal page.")

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        try await ServiceMain.run(options: options) { reader in
            ServiceApplication.standard(name: "gateway", defaultPort: 8083, reader: &reader)
        }
    }
}
