import ArgumentParser
import DTPServiceKit

/// `dtp-ingestor`: Stores the MQTT streams that twins declare in Postgres and InfluxDB.
@main
struct MQTTIngestorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dtp-ingestor", abstract: "Stores the MQTT streams that twins declare in Postgres and InfluxDB.")

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        try await ServiceMain.run(options: options) { reader in
            ServiceApplication.standard(name: "ingestor", defaultPort: 8084, reader: &reader)
        }
    }
}
