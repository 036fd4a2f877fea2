import ArgumentParser
import DTPServiceKit
import Foundation
import Hummingbird

/// `dtp-registry`: The Digital Twin Registry: twins, services, relationships, artifacts and the change stream.
@main
struct RegistryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dtp-registry",
        abstract: "The Digital Twin Registry: twins, services, relationships, artifacts and the change stream.")

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        MallocArenas.cap()
        var reader = ConfigReader(options.applied(to: ProcessInfo.processInfo.environment))
        let config = RegistryConfig(reader: &reader)
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
