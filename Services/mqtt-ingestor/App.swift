import ArgumentParser
import DTPServiceKit
import Foundation
import Hummingbird

/// `dtp-ingestor`: Stores the MQTT streams that twins declare in Postgres and InfluxDB.
@main
struct MQTTIngestorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dtp-ingestor", abstract: "Stores the MQTT streams that twins declare in Postgres and InfluxDB.")

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        var reader = ConfigReader(options.applied(to: ProcessInfo.processInfo.environment))
        let config = IngestorConfig(reader: &reader)
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
