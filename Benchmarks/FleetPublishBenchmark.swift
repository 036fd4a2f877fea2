import DTPTestSupport
import Foundation

/// Fleet-mode publish rate of `dtp-lift --fleet` at QoS 0 and QoS 1 against a bare C libmosquitto
/// publisher (`Benchmarks/c/mqtt_pub.c`) sending the same number of messages at the same paced rate, in
/// the same run; then the idle RSS of `dtp-lift` and `dtp-hvac`.
///
/// The generators are run as they ship (the executables next to this one), so the figure includes the
/// simulation, the JSON encoding and the publisher's queue. The alert threshold is set out of reach, so
/// every message is a telemetry message at the QoS under test, like the C publisher's.
enum FleetPublishBenchmark {
    static func run(rate: Int = 20_000, seconds: Int = 5, fleet: Int = 1_000, rounds: Int = 3) async throws {
        let environment = try benchmarkEnvironment()
        guard let url = environment["DTP_MQTT_URL"], let components = URLComponents(string: url),
            let host = components.host
        else { throw MQTTReceiveBenchmark.BenchmarkError("DTP_MQTT_URL is not set") }
        let port = components.port ?? 1883
        let lift = try sibling("dtp-lift")
        let publisher = try buildCPublisher()
        let count = rate * seconds
        print("Fleet publish benchmark: \(fleet) lifts, \(count) messages at \(rate)/s via \(host):\(port), \(rounds) rounds")
        for qos in [0, 1] {
            var ratios: [Double] = []
            for round in 1...rounds {
                let topic = "dtp-bench/fleet/\(UUID().uuidString.prefix(8))"
                let c = try runC(publisher, host: host, port: port, topic: topic, count: count, qos: qos, rate: rate)
                var env = environment
                env["MQTT_TELEMETRY_TOPIC"] = topic
                env["VIB_THRESHOLD"] = "1000"
                env["LOG_LEVEL"] = "warning"
                let swift = try runFleet(
                    lift, environment: env, fleet: fleet, rate: rate, seconds: seconds, qos: qos)
                ratios.append(swift / c)
                print(
                    String(
                        format: "  QoS %d round %d: C %8.0f msg/s   dtp-lift --fleet %8.0f msg/s   ratio %.3f", qos, round,
                        c, swift, swift / c))
            }
            print(String(format: "  QoS %d median ratio fleet/C: %.3f", qos, ratios.sorted()[ratios.count / 2]))
        }
        try idleFootprint(environment: environment)
    }

    /// The idle RSS of each generator build there is: VmRSS 10 s after start, with its anonymous and
    /// file-backed parts, the thread count, and where the file-backed pages are (Rss per mapped file from
    /// /proc/<pid>/smaps, the largest first).
    static func idleFootprint(environment: [String: String]? = nil) throws {
        let environment = try environment ?? benchmarkEnvironment()
        var binaries = [("dtp-lift", try sibling("dtp-lift")), ("dtp-hvac", try sibling("dtp-hvac"))]
        for name in ["dtp-lift", "dtp-hvac"] {
            if let binary = staticBinary(name) { binaries.append(("\(name) (static stdlib)", binary)) }
        }
        print("Idle RSS (load average \(RegistryBenchmark.loadAverage())):")
        for (name, binary) in binaries {
            let (rss, mappings) = try idleRSS(binary, environment: environment)
            print(
                String(
                    format: "  %@ idle after 10 s: VmRSS %.1f MiB (RssAnon %.1f MiB, RssFile %.1f MiB, %d threads)",
                    name, Double(rss["VmRSS"] ?? 0) / 1024, Double(rss["RssAnon"] ?? 0) / 1024,
                    Double(rss["RssFile"] ?? 0) / 1024, rss["Threads"] ?? 0))
            let top = mappings.sorted { $0.value > $1.value }.prefix(8)
            print("    " + top.map { String(format: "%@ %.1f", $0.key, Double($0.value) / 1024) }.joined(separator: ", "))
        }
    }

    /// The build the container image ships, when one is there: `swift build -c release
    /// --static-swift-stdlib --product <name> --scratch-path .build-static` (or `DTP_STATIC_BIN_DIR`).
    /// Its file-backed pages are the binary's own rather than shared Swift libraries, so it is measured
    /// next to the dynamically linked build, not instead of it.
    private static func staticBinary(_ name: String) -> String? {
        let folder = ProcessInfo.processInfo.environment["DTP_STATIC_BIN_DIR"] ?? ".build-static/release"
        let path = URL(fileURLWithPath: folder).appendingPathComponent(name).path
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    /// The environment of `$DTP_HOME/env` under the process's own.
    private static func benchmarkEnvironment() throws -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        for (key, value) in TestEnvironment.shared.values where environment[key] == nil { environment[key] = value }
        return environment
    }

    /// An executable built next to this one.
    private static func sibling(_ name: String) throws -> String {
        let folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let path = folder.appendingPathComponent(name).path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw MQTTReceiveBenchmark.BenchmarkError("\(path) is missing: build it with `swift build --product \(name)`")
        }
        return path
    }

    private static func buildCPublisher() throws -> String {
        let binary = ".build/mqtt_pub"
        if FileManager.default.isExecutableFile(atPath: binary) { return binary }
        _ = try BenchProcess.output(of: "/usr/bin/cc", ["-O2", "-o", binary, "Benchmarks/c/mqtt_pub.c", "-lmosquitto"])
        return binary
    }

    private static func runC(
        _ path: String, host: String, port: Int, topic: String, count: Int, qos: Int, rate: Int
    ) throws -> Double {
        let text = try BenchProcess.output(
            of: path, [host, String(port), topic, String(count), String(qos), String(rate)], environment: nil)
        for field in text.split(whereSeparator: \.isWhitespace) where field.hasPrefix("rate=") {
            if let value = Double(field.dropFirst(5)) { return value }
        }
        throw MQTTReceiveBenchmark.BenchmarkError("unexpected mqtt_pub output: \(text)")
    }

    private static func runFleet(
        _ path: String, environment: [String: String], fleet: Int, rate: Int, seconds: Int, qos: Int
    ) throws -> Double {
        let text = try BenchProcess.output(
            of: path,
            ["--fleet", String(fleet), "--rate", "\(rate)/s", "--duration", String(seconds), "--fleet-qos", String(qos)],
            environment: environment)
        struct Report: Decodable {
            var offered: Int
            var published: Int
            var achieved_rate: Double
        }
        guard let line = text.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
            let report = try? JSONDecoder().decode(Report.self, from: Data(line.utf8))
        else { throw MQTTReceiveBenchmark.BenchmarkError("unexpected fleet output: \(text)") }
        guard report.published == report.offered else {
            throw MQTTReceiveBenchmark.BenchmarkError("fleet published \(report.published) of \(report.offered)")
        }
        return report.achieved_rate
    }

    /// Starts `binary` as a service, lets it idle 10 s, and reads VmRSS, RssAnon, RssFile (KiB) and Threads
    /// from /proc/<pid>/status, and the Rss (KiB) of each mapped file (by file name; anonymous mappings as
    /// "[anon]") from /proc/<pid>/smaps. The file-backed part is code and data of the binary and the
    /// shared libraries, which other processes running them share.
    private static func idleRSS(_ binary: String, environment: [String: String]) throws
        -> (status: [String: Int], mappings: [String: Int])
    {
        var env = environment
        let port = TestPorts.free()
        env["DTP_HTTP_PORT"] = String(port)
        env["DTP_STATE_DIR"] = NSTemporaryDirectory() + "dtp-bench-state-\(UUID().uuidString)"
        env["LOG_LEVEL"] = "warning"
        env.removeValue(forKey: "DTP_REGISTRY_URL")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.environment = env
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        Thread.sleep(forTimeInterval: 10)
        let status = try String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)
        var values: [String: Int] = [:]
        for line in status.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == ":" || $0.isWhitespace })
            if parts.count >= 2, ["VmRSS", "RssAnon", "RssFile", "Threads"].contains(String(parts[0])) {
                values[String(parts[0])] = Int(parts[1])
            }
        }
        guard values["VmRSS"] != nil else { throw MQTTReceiveBenchmark.BenchmarkError("no VmRSS for \(binary)") }
        var mappings: [String: Int] = [:]
        let smaps = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/smaps", encoding: .utf8)) ?? ""
        var current = "[anon]"
        for line in smaps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if let first = fields.first, first.contains("-"), first.allSatisfy({ $0.isHexDigit || $0 == "-" }) {
                current = fields.count >= 6 ? String(fields[5].split(separator: "/").last ?? "") : "[anon]"
            } else if fields.first == "Rss:", fields.count >= 2, let kilobytes = Int(fields[1]) {
                mappings[current, default: 0] += kilobytes
            }
        }
        return (values, mappings)
    }
}
