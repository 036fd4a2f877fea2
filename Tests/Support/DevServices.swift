import Foundation

/// Drives `scripts/dev-services` from tests, for the servers a test owns alone.
///
/// Tests that restart their server must not disturb the shared one that other tests use at the same
/// time, so they ask for a scratch instance: a private PostgreSQL cluster or Mosquitto broker on a port
/// of their own, under `.dtp/data/scratch/`.
public enum DevServices {
    /// The kinds of server that can be had as a scratch instance.
    public enum Kind: String, Sendable { case postgres, mosquitto }

    /// What a scratch instance can be asked to do.
    public enum Action: String, Sendable { case start, stop, restart }

    /// Runs `scripts/dev-services scratch KIND NAME PORT ACTION` and waits for it.
    public static func scratch(_ kind: Kind, name: String, port: Int, _ action: Action) throws {
        try run(["scratch", kind.rawValue, name, String(port), action.rawValue])
    }

    /// The URL of a scratch PostgreSQL instance on `port`: the same role, password and database as the
    /// shared one.
    public static func scratchPostgresURL(port: Int, environment: TestEnvironment = .shared) throws -> String {
        let password = try environment.require("PGPASSWORD")
        return "postgresql://dtp:\(password)@127.0.0.1:\(port)/dtp"
    }

    /// Runs the script with `arguments`; throws with its output when it fails.
    public static func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = TestEnvironment.repositoryRoot.appendingPathComponent("scripts/dev-services")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(
                arguments: arguments, status: process.terminationStatus,
                output: String(decoding: data, as: UTF8.self))
        }
    }

    /// The script failed.
    public struct Failure: Error, CustomStringConvertible {
        public let arguments: [String]
        public let status: Int32
        public let output: String
        public var description: String {
            "dev-services \(arguments.joined(separator: " ")) exited \(status): \(output)"
        }
    }
}
