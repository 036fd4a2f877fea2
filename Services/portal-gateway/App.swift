import ArgumentParser
import DTPServiceKit
import Foundation
import Hummingbird

/// `dtp-gateway`: the portal gateway: login, grants, the admin API, live portal events and the portal page.
@main
struct PortalGatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dtp-gateway",
        abstract: "The portal gateway: login, grants, the admin API, live portal events and the portal page.")

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        var reader = ConfigReader(options.applied(to: ProcessInfo.processInfo.environment))
        let config = GatewayConfig(reader: &reader)
        do {
            try reader.finish()
        } catch let error as ConfigurationError {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(78)
        }
        let app = try await buildApplication(config)
        try await app.runService()
    }
}
