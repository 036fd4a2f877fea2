import Foundation

/// Drives `scripts/dev-services` from tests, for the servers a test owns alone.
///
/// Tests that restart their server must not disturb the shared one that other tests use at the same
/// time, so they ask for a scratch instance: a private PostgreSQL cluster, Mosquitto broker or InfluxDB on
/// a port of their own (InfluxDB also binds the next port, for its RPC), under `.dtp/data/scratch/`.
public enum DevServices {
    /// The kinds of server that can be had as a scratch instance.
    public enum Kind: String, Sendable {
        case postgres, mosquitto, influxdb
        /// Mosquitto with a TLS listener only, its certificate signed by a private CA (``scratchCAFile(name:)``).
        case mosquittoTLS = "mosquitto-tls"
    }

    /// What a scratch instance can be asked to do.
    public enum Action: String, Sendable { case start, stop, restart }

    /// Runs `scripts/dev-services scratch KIND NAME PORT ACTION` and waits for it, on a thread of its own
    /// (the script takes about a second, which no cooperative thread should spend waiting).
    public static func scratch(_ kind: Kind, name: String, port: Int, _ action: Action) async throws {
        let arguments = ["scratch", kind.rawValue, name, String(port), action.rawValue]
        let result: Result<Void, any Error> = await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: Result { try run(arguments) }) }.start()
        }
        try result.get()
    }

    /// The URL of a scratch PostgreSQL instance on `port`: the same role, password and database as the
    /// shared one.
    public static func scratchPostgresURL(port: Int, environment: TestEnvironment = .shared) throws -> String {
        let password = try environment.require("PGPASSWORD")
        return "postgresql://dtp:\(password)@127.0.0.1:\(port)/dtp"
    }

    /// The CA certificate that signed a scratch TLS broker's certificate (for `127.0.0.1` and `localhost`).
    public static func scratchCAFile(name: String, environment: TestEnvironment = .shared) throws -> String {
        "\(try environment.require("DTP_HOME"))/data/scratch/\(Kind.mosquittoTLS.rawValue)-\(name)/tls/ca.crt"
    }

    /// Deletes a stopped scratch instance's data, logs and PID file.
    public static func removeScratch(_ kind: Kind, name: String, environment: TestEnvironment = .shared) {
        guard let home = environment["DTP_HOME"] else { return }
        let base = "\(home)/data/scratch/\(kind.rawValue)-\(name)"
        for suffix in ["", ".log", ".initdb.log", ".pid", ".out"] {
            try? FileManager.default.removeItem(atPath: base + suffix)
        }
    }

    /// Runs the script with `arguments` and waits for it, blocking the calling thread; throws with its
    /// output when it fails.
    public static func run(_ arguments: [String]) throws {
        let script = TestEnvironment.repositoryRoot.appendingPathComponent("scripts/dev-services").path
        let (status, output) = try ChildProcess.run(script, arguments)
        guard status == 0 else { throw Failure(arguments: arguments, status: status, output: output) }
    }

    /// The script failed.
    public struct Failure: Error, CustomStringConvertible {
        /// The arguments the script was given.
        public let arguments: [String]
        /// Its exit status.
        public let status: Int32
        /// What it printed.
        public let output: String
        /// The command, its status and its output.
        public var description: String {
            "dev-services \(arguments.joined(separator: " ")) exited \(status): \(output)"
        }
    }
}
