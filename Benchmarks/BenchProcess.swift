import Foundation

/// Runs the benchmarks' helper programs: the C compiler, the C baselines, the generators in fleet mode.
enum BenchProcess {
    /// The standard output of `path` run with `arguments` (in `environment`, this process's when nil);
    /// throws when it exits non-zero.
    static func output(of path: String, _ arguments: [String], environment: [String: String]? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw MQTTReceiveBenchmark.BenchmarkError("\(path) exited \(process.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
