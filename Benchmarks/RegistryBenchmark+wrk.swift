import Foundation

/// The registry's request rates measured with `wrk` (when it is installed: `apt-get install wrk`), a C load
/// generator that costs far less CPU per request than the Swift client on the same 2 cores. A trivial
/// endpoint (`/healthz`, no database, no auth) is measured in the same run as the ceiling the HTTP stack
/// and the machine's current load allow.
enum RegistryWrk {
    /// One wrk run's figures.
    struct Figures: CustomStringConvertible {
        var requestsPerSecond: Double
        var p50: String
        var p99: String
        var requests: Int
        var bad: Int

        var description: String {
            String(format: "%8.0f req/s   p50 %@   p99 %@   (%d requests, %d non-2xx/errors)",
                requestsPerSecond, p50, p99, requests, bad)
        }
    }

    /// CPU time spent serving a run: the registry process's and that of the PostgreSQL backends connected
    /// to the bench database (user + system, from /proc/<pid>/stat). Unlike requests/s this hardly depends
    /// on what else the machine is doing, so it is what compares two builds on a busy machine.
    struct CPU {
        var registry: Double
        /// CPU seconds of each backend so far, by process id.
        var backends: [Int32: Double]

        /// Reads both now; `backends` are the PostgreSQL server processes of the bench database (the pool
        /// grows during a run, so the caller lists them again at its end).
        static func sample(registry pid: Int32, backends: [Int32]) -> CPU {
            CPU(registry: seconds(pid), backends: Dictionary(uniqueKeysWithValues: backends.map { ($0, seconds($0)) }))
        }

        /// utime + stime of `pid` in seconds (0 when it is gone).
        static func seconds(_ pid: Int32) -> Double {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return 0 }
            // Fields after the command name: state is field 3, utime 14 and stime 15.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
            return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
        }

        /// "registry 0.21 ms + PostgreSQL 0.12 ms per request", and what 2 otherwise idle cores would
        /// serve at that cost. A backend that appeared during the run counts with all its time.
        static func perRequest(from start: CPU, to end: CPU, requests: Int) -> String {
            guard requests > 0 else { return "" }
            let registry = (end.registry - start.registry) * 1000 / Double(requests)
            let backendSeconds = end.backends.reduce(0.0) { $0 + $1.value - (start.backends[$1.key] ?? 0) }
            let postgres = backendSeconds * 1000 / Double(requests)
            return String(
                format: "CPU per request: registry %.3f ms + PostgreSQL %.3f ms (2 idle cores: ~%.0f req/s)",
                registry, postgres, 2000 / max(registry + postgres, 0.001))
        }
    }

    /// `wrk`'s path, or nil when it is not installed.
    static var path: String? {
        ["/usr/bin/wrk", "/usr/local/bin/wrk"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs `wrk` for `seconds` with `connections` over 2 threads and `script` (Lua) against `url`.
    static func run(
        _ wrk: String, url: String, script: String, connections: Int, seconds: Int
    ) async throws -> Figures {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("dtp-bench-\(UUID().uuidString).lua")
        try script.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let arguments = [
            "-t", "2", "-c", String(connections), "-d", "\(seconds)s", "--latency", "-s", file.path, url,
        ]
        // wrk blocks for the whole run: on its own thread, not on the cooperative pool.
        let output = try await withCheckedThrowingContinuation {
            (continuation: CheckedContinuation<String, any Error>) in
            let thread = Thread {
                continuation.resume(with: Result { try BenchProcess.output(of: wrk, arguments) })
            }
            thread.start()
        }
        return try parse(output)
    }

    static func parse(_ output: String) throws -> Figures {
        func value(after prefix: String) -> String? {
            output.split(separator: "\n").lazy.map { $0.trimmingCharacters(in: .whitespaces) }
                .first { $0.hasPrefix(prefix) }
                .map { String($0.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces) }
        }
        // "  123456 requests in 5.00s, 1.2MB read"
        let total = output.split(separator: "\n").first { $0.contains(" requests in ") }
            .flatMap { Int($0.trimmingCharacters(in: .whitespaces).split(separator: " ")[0]) }
        guard let rate = value(after: "Requests/sec:").flatMap(Double.init), let total else {
            throw BenchmarkFailure(message: "cannot read wrk's output:\n\(output)")
        }
        let non2xx = value(after: "Non-2xx or 3xx responses:").flatMap { Int($0) } ?? 0
        var errors = 0
        if let line = value(after: "Socket errors:") {
            // "connect 0, read 0, write 0, timeout 3"
            errors = line.split(separator: ",").compactMap { Int($0.split(separator: " ").last ?? "") }.reduce(0, +)
        }
        return Figures(
            requestsPerSecond: rate, p50: value(after: "50%") ?? "?", p99: value(after: "99%") ?? "?",
            requests: total, bad: non2xx + errors)
    }

    /// The Lua prologue that sets the headers every request carries.
    static func headers(token: String) -> String {
        """
        wrk.headers["Authorization"] = "Bearer \(token)"
        wrk.headers["Content-Type"] = "application/json"

        """
    }

    /// GET one of the 1,000 bench twins at random.
    static func getOne(token: String) -> String {
        headers(token: token) + """
            request = function()
                return wrk.format("GET", "/api/registry/twins/dt:bench-" .. math.random(0, 999))
            end
            """
    }

    /// GET the whole list.
    static func list(token: String) -> String {
        headers(token: token) + #"request = function() return wrk.format("GET", "/api/registry/twins") end"#
    }

    /// `/healthz`, the baseline.
    static let healthz = #"request = function() return wrk.format("GET", "/healthz") end"#

    /// POST upsert of a random bench twin with a changed name, the same body as the Swift client's.
    static func upsert(token: String) -> String {
        let template = RegistryBenchmark.twin(0, name: "NAME")
            .replacingOccurrences(of: "%", with: "%%")
            .replacingOccurrences(of: "dt:bench-1\"", with: "dt:bench-%d\"")
            .replacingOccurrences(of: "dt:bench-0", with: "dt:bench-%d")
            .replacingOccurrences(of: "lift-0.", with: "lift-%d.")
            .replacingOccurrences(of: "dtp/bench/0/", with: "dtp/bench/%d/")
            .replacingOccurrences(of: "NAME", with: "upsert %d")
        return headers(token: token) + """
            local template = [[\(template)]]
            local counter = 0
            request = function()
                counter = counter + 1
                local i = math.random(0, 999)
                local body = string.format(template, i, counter, i, i, (i + 1) % 1000)
                return wrk.format("POST", "/api/registry/twins", nil, body)
            end
            """
    }
}
