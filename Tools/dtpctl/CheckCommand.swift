import ArgumentParser
import Foundation

/// `dtpctl check`: writes to and reads back from every configured store, to prove the wiring.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Write to and read back from every configured store (Postgres, InfluxDB, S3, Neo4j, MQTT).",
        discussion: """
            Each store is configured by the environment (the earlier system's names are accepted): \
            DTP_PG_URL or PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE; INFLUX_URL, INFLUX_TOKEN, INFLUX_ORG, \
            INFLUX_BUCKET, INFLUX_DB; MINIO_ENDPOINT, MINIO_ACCESS_KEY, MINIO_SECRET_KEY, MINIO_BUCKET; \
            NEO4J_URL, NEO4J_PASSWORD; DTP_MQTT_URL or MQTT_BROKER_HOST/MQTT_BROKER_PORT. A store that is \
            not configured is skipped. Exits 1 when any configured store fails.
            """)

    @Flag(name: .long, help: "Print the results as JSON.")
    var json = false

    @Option(name: .long, help: "Read KEY=VALUE settings from this file first (the environment wins).")
    var envFile: String?

    @Option(name: .long, help: "Seconds each store may take.")
    var timeout: Double = 10

    func run() async throws {
        var environment = ProcessInfo.processInfo.environment
        if let envFile {
            guard let text = try? String(contentsOfFile: envFile, encoding: .utf8) else {
                throw ValidationError("cannot read \(envFile)")
            }
            environment = EnvFile.parse(text).merging(environment) { _, process in process }
        }
        let results = await WiringCheck(environment: environment, timeout: .milliseconds(Int64(timeout * 1000))).run()
        print(json ? CheckReport.json(results) : CheckReport.table(results))
        if results.contains(where: { $0.status == .fail }) { throw ExitCode(1) }
    }
}

/// `KEY=VALUE` lines, `#` comments, as `.env` files and `.dtp/env` hold them.
enum EnvFile {
    static func parse(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.hasPrefix("#"), let eq = trimmed.firstIndex(of: "=") else { continue }
            var value = String(trimmed[trimmed.index(after: eq)...])
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            }
            result[String(trimmed[..<eq]).replacingOccurrences(of: "export ", with: "")] = value
        }
        return result
    }
}
