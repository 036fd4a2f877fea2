import DTPPostgres
import DTPTestSupport
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Loads the same rows through the wrapper's COPY and through `psql \copy`, and compares their rates.
///
/// Settings come from the dev-services env file through `TestEnvironment`. psql gets the password only
/// through its own environment (`PGPASSWORD`), never on its command line.
enum CopyBenchmark {
    static func run(rows: Int = 500_000) async throws {
        let environment = TestEnvironment.shared
        var configuration = try PostgresConfiguration(url: environment.require("DTP_PG_URL"))
        configuration.applicationName = "dtp-copy-benchmark"
        let pool = PostgresPool(configuration: configuration, size: 1)
        let schema = "bench_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        let columns = ["signal", "ts", "value", "note"]
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("\(schema).copy").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        do {
            try await pool.withConnection { connection in
                try await connection.executeScript(
                    """
                    CREATE SCHEMA \(schema);
                    CREATE TABLE \(schema).wrapper (signal uuid, ts timestamptz, value float8, note text);
                    CREATE TABLE \(schema).psql (signal uuid, ts timestamptz, value float8, note text);
                    """)
            }
            let signals = (0..<64).map { _ in UUID() }
            let start = Date(timeIntervalSince1970: 1_750_000_000)
            let data: [[any PostgresEncodable]] = (0..<rows).map { index in
                [
                    signals[index % 64], start.addingTimeInterval(Double(index) * 0.001_001),
                    sin(Double(index) / 100) * 42.5, "reading \(index % 1000)\tok",
                ]
            }
            var bytes: [UInt8] = []
            for row in data {
                for (index, value) in row.enumerated() {
                    if index > 0 { bytes.append(UInt8(ascii: "\t")) }
                    value.appendCopyText(to: &bytes)
                }
                bytes.append(UInt8(ascii: "\n"))
            }
            try Data(bytes).write(to: URL(fileURLWithPath: file))

            let wrapperStart = ContinuousClock.now
            let loaded = try await pool.withConnection { connection in
                try await connection.copy(rows: data, into: "\(schema).wrapper", columns: columns)
            }
            let wrapperTime = ContinuousClock.now - wrapperStart

            let psqlStart = ContinuousClock.now
            try runPSQL(
                "\\copy \(schema).psql (\(columns.joined(separator: ", "))) FROM '\(file)'", environment: environment)
            let psqlTime = ContinuousClock.now - psqlStart

            let counts = try await pool.query(
                "SELECT (SELECT count(*) FROM \(schema).wrapper), (SELECT count(*) FROM \(schema).psql)")[0]
            let wrapperCount = try counts.decode(Int.self, at: 0)
            let psqlCount = try counts.decode(Int.self, at: 1)
            guard loaded == rows, wrapperCount == rows, psqlCount == rows else {
                throw BenchmarkFailure(description: "row counts differ: \(loaded), \(wrapperCount), \(psqlCount)")
            }
            let wrapperRate = Double(rows) / seconds(wrapperTime)
            let psqlRate = Double(rows) / seconds(psqlTime)
            print("rows: \(rows), file: \(bytes.count) bytes")
            print("wrapper COPY: \(format(seconds(wrapperTime))) s, \(Int(wrapperRate)) rows/s")
            print("psql \\copy:   \(format(seconds(psqlTime))) s, \(Int(psqlRate)) rows/s")
            print("ratio wrapper/psql: \(format(wrapperRate / psqlRate))")
            try await pool.withConnection { try await $0.executeScript("DROP SCHEMA \(schema) CASCADE") }
            await pool.close()
        } catch {
            try? await pool.withConnection { try await $0.executeScript("DROP SCHEMA IF EXISTS \(schema) CASCADE") }
            await pool.close()
            throw error
        }
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    private static func format(_ value: Double) -> String { String(format: "%.3f", value) }

    /// Runs psql with the connection settings in its environment only.
    private static func runPSQL(_ command: String, environment: TestEnvironment) throws {
        var childEnvironment = ProcessInfo.processInfo.environment
        for key in ["PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE"] {
            childEnvironment[key] = try environment.require(key)
        }
        let arguments: [String] = ["/usr/bin/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", command]
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var envp = childEnvironment.map { strdup("\($0.key)=\($0.value)") }
        envp.append(nil)
        defer { envp.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/usr/bin/psql", nil, nil, argv, envp)
        guard spawned == 0 else { throw BenchmarkFailure(description: "cannot run psql: errno \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        guard status == 0 else { throw BenchmarkFailure(description: "psql failed with status \(status)") }
    }

    struct BenchmarkFailure: Error, CustomStringConvertible {
        let description: String
    }
}
