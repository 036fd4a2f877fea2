import DTPHTTP
import DTPInfluxDB
import DTPTestSupport
import Foundation

/// InfluxDB write rate through ``InfluxDBClient`` against posting the very same line protocol batches with
/// `curl` (one curl process, all batches chained with `--next` so it reuses its connection too).
/// Each run writes into a database of its own on the InfluxDB that `INFLUX_URL` names.
enum InfluxWriteBenchmark {
    static func run(points: Int, batchSize: Int = 5000) async throws {
        let url = try TestEnvironment.shared.require("INFLUX_URL")
        let base: Int64 = 1_700_000_000_000_000_000
        let all = (0..<points).map { index in
            InfluxPoint(
                measurement: "bench", tags: ["car": "c\(index % 16)", "site": "s\(index % 4)"],
                fields: [("load", .float(Double(index) * 0.25)), ("floor", .int(Int64(index % 40))), ("ok", .bool(true))],
                timestamp: base + Int64(index) * 1_000)
        }
        let batches = stride(from: 0, to: points, by: batchSize).map { Array(all[$0..<min($0 + batchSize, points)]) }
        let bodies = try batches.map { try LineProtocol.encode($0) }
        let http = try HTTPClient()
        defer { Task { await http.shutdown() } }

        func database(_ label: String) async throws -> InfluxDBClient {
            let name = "dtp_bench_\(label)_\(UUID().uuidString.prefix(8).lowercased())"
            let admin = InfluxDBClient(configuration: InfluxDBConfiguration(url: url, database: name), httpClient: http)
            try await admin.createDatabase(name)
            return admin
        }
        func count(_ client: InfluxDBClient) async throws -> Int64 {
            try await client.query("SELECT COUNT(floor) FROM bench").series.first?.rows.first?.int("count") ?? 0
        }

        var report: [(String, Double)] = []
        // curl first, then the client plain and gzip; each into a fresh database.
        let curlDB = try await database("curl")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("influx-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var arguments = ["-sS", "-f"]
        for (index, body) in bodies.enumerated() {
            let file = directory.appendingPathComponent("b\(index).lp")
            try Data(body.utf8).write(to: file)
            if index > 0 { arguments.append("--next") }
            arguments += ["-XPOST", curlDB.writeURLForBenchmark, "--data-binary", "@\(file.path)", "-o", "/dev/null"]
        }
        let curlStart = ContinuousClock.now
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        let curlTime = ContinuousClock.now - curlStart
        guard process.terminationStatus == 0, try await count(curlDB) == Int64(points) else {
            throw BenchmarkFailure(message: "curl run did not store \(points) points")
        }
        report.append(("curl", Double(points) / curlTime.seconds))
        try await curlDB.dropDatabase(curlDB.configuration.database)

        // The same line protocol bodies as curl, posted through the client: the transport alone.
        do {
            let client = try await database("raw")
            var config = client.configuration
            config.gzip = false
            let raw = InfluxDBClient(configuration: config, httpClient: http)
            let start = ContinuousClock.now
            for body in bodies { try await raw.write(lineProtocol: body) }
            let time = ContinuousClock.now - start
            guard try await count(raw) == Int64(points) else {
                throw BenchmarkFailure(message: "client run did not store \(points) points")
            }
            report.append(("client, same bodies", Double(points) / time.seconds))
            try await raw.dropDatabase(config.database)
        }

        // Points through the batch writer: encoding included.
        for gzip in [false, true] {
            var client = try await database(gzip ? "gzip" : "plain")
            var config = client.configuration
            config.gzip = gzip
            client = InfluxDBClient(configuration: config, httpClient: http)
            let start = ContinuousClock.now
            let writer = client.makeWriter(batchSize: batchSize, flushInterval: nil)
            for batch in batches { try await writer.write(batch) }
            try await writer.close()
            let time = ContinuousClock.now - start
            guard try await count(client) == Int64(points) else {
                throw BenchmarkFailure(message: "client run did not store \(points) points")
            }
            report.append((gzip ? "writer+encode, gzip" : "writer+encode", Double(points) / time.seconds))
            try await client.dropDatabase(config.database)
        }

        let curlRate = report[0].1
        print("InfluxDB write: \(points) points in batches of \(batchSize)")
        for (label, rate) in report {
            print("  \(label.padding(toLength: 20, withPad: " ", startingAt: 0)) \(Int(rate)) points/s"
                + "  ratio to curl \(String(format: "%.2f", rate / curlRate))")
        }
    }
}

struct BenchmarkFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension InfluxDBClient {
    /// The v1 write URL for the curl comparison (no credentials: the local server has none).
    var writeURLForBenchmark: String {
        configuration.url + "/write?db=\(configuration.database)&precision=n"
    }
}
