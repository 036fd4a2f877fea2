import Foundation

/// The settings of the local environment that `scripts/dev-services` starts, for tests.
///
/// Values come from the process environment first, then from the env file the script writes
/// (`DTP_ENV_FILE`, else `$DTP_HOME/env`, else `.dtp/env` at the repository root). A test that needs a server asks for its
/// setting with ``require(_:)``, which fails with a message that says how to start the servers,
/// so a missing server is a failure, never a silent skip.
public struct TestEnvironment: Sendable {
    /// The repository's root folder.
    public static let repositoryRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        // Tests/Support/TestEnvironment.swift -> repository root
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url
    }()

    /// The environment as seen by the tests of this process.
    public static let shared = TestEnvironment()

    /// Every setting, process environment over the env file.
    public let values: [String: String]

    /// Reads the env file, then lays `processEnvironment` over it.
    public init(processEnvironment: [String: String] = ProcessInfo.processInfo.environment) {
        let path =
            processEnvironment["DTP_ENV_FILE"]
            ?? processEnvironment["DTP_HOME"].map { $0 + "/env" }
            ?? TestEnvironment.repositoryRoot.appendingPathComponent(".dtp/env").path
        var values = TestEnvironment.parseEnvFile(atPath: path)
        for (key, value) in processEnvironment { values[key] = value }
        self.values = values
    }

    /// Reads `KEY=VALUE` lines; `#` starts a comment line.
    public static func parseEnvFile(atPath path: String) -> [String: String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var result: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#"), let eq = trimmed.firstIndex(of: "=") else {
                continue
            }
            result[String(trimmed[..<eq])] = String(trimmed[trimmed.index(after: eq)...])
        }
        return result
    }

    /// The value of `key`, or nil.
    public subscript(key: String) -> String? { values[key] }

    /// The value of `key`, or an error that tells how to start the local servers.
    public func require(_ key: String) throws -> String {
        guard let value = values[key], !value.isEmpty else { throw MissingSetting(key: key) }
        return value
    }

    /// A required setting that is absent.
    public struct MissingSetting: Error, CustomStringConvertible {
        /// The missing setting.
        public let key: String
        /// What is missing and how to start the servers.
        public var description: String {
            "\(key) is not set: start the local servers with `scripts/dev-services start` (or run `make test`)"
        }
    }
}
