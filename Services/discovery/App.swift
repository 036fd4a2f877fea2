import ArgumentParser
import DTPHTTP
import DTPServiceKit
import Foundation
import Hummingbird
import Logging

/// `dtp-discovery`: keeps the registry in step with the twins/**/twin.yaml files.
@main
struct DiscoveryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dtp-discovery", abstract: "Keeps the registry in step with the twins/**/twin.yaml files.")

    @OptionGroup var options: ServiceOptions

    @Flag(name: .long, help: "Scan once, register, print a summary table; exit 1 if any file failed.")
    var once = false

    func run() async throws {
        var reader = ConfigReader(options.applied(to: ProcessInfo.processInfo.environment))
        let config = DiscoveryConfig(reader: &reader)
        do {
            try reader.finish()
        } catch let error as ConfigurationError {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(78)
        }
        if once {
            let logger = ServiceLogging.bootstrap(service: config.settings.name, level: config.settings.logLevel)
            let summary = try await scanOnce(config, logger: logger)
            print(summary.table)
            if !summary.failed.isEmpty || summary.registryError != nil { throw ExitCode(1) }
            return
        }
        let (app, _) = try buildApplication(config)
        try await app.runService()
    }
}

/// `--once`: one full scan and registration, without watching (the earlier `register_twins.py`, done right).
func scanOnce(_ config: DiscoveryConfig, logger: Logger) async throws -> ScanSummary {
    let (client, engine) = try buildEngine(config, logger: logger)
    let summary = await engine.fullScan(orphans: false)
    await client.shutdown()
    return summary
}
