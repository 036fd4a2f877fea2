import DTPInfluxDB
import Foundation

/// InfluxDB: write a point and query it back through InfluxQL.
enum InfluxCheck {
    static func probe(_ environment: [String: String]) throws -> WiringCheck.Probe {
        guard let configuration = try InfluxDBConfiguration(environment: environment) else {
            throw WiringCheck.NotConfigured(reason: "INFLUX_URL is not set")
        }
        return { http in
            let client = InfluxDBClient(configuration: configuration, httpClient: http)
            let ping = try await client.ping()
            let run = UUID().uuidString
            let value = Double.random(in: 0..<1000)
            try await client.write([
                InfluxPoint(
                    measurement: "dtp_wiring_check", tags: ["run": run], fields: [("value", .float(value))],
                    date: Date())
            ])
            let result = try await client.query(
                "SELECT value FROM dtp_wiring_check WHERE run = \(InfluxQL.string(run))")
            let readBack = result.series.first?.rows.first?.double("value")
            guard readBack == value else {
                throw Mismatch(description: "wrote \(value), read back \(readBack.map { "\($0)" } ?? "nothing")")
            }
            let version = ping.version.map { "InfluxDB \($0)" }
            return (version, "point written to \(configuration.database) and queried back")
        }
    }
}
