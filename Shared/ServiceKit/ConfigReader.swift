import DTPEssentials
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Logging

/// Reads a service's typed configuration from environment variables.
///
/// Every accessor returns a usable value at once (the default, or a neutral one when the variable is
/// bad) and records what was wrong, so that one ``finish()`` reports every missing or unparsable
/// variable in a single message: an operator fixes them all in one go instead of one per restart.
///
/// ```swift
/// var env = ConfigReader()
/// let port = env.int("DTP_HTTP_PORT", default: 8081, in: 1...65535)
/// let secret = env.secret("DTP_JWT_SECRET", minimumLength: 32)
/// try env.finish()
/// ```
public struct ConfigReader: Sendable {
    /// The variables being read.
    public let environment: [String: String]
    /// What was wrong so far, one entry per variable.
    public private(set) var problems: [ConfigurationError.Problem] = []

    /// Reads from `environment`, the process environment by default; tests pass in-memory values.
    public init(_ environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    /// The raw value of the first of `keys` that is set and not empty.
    public func raw(_ keys: [String]) -> (key: String, value: String)? {
        for key in keys {
            if let value = environment[key], !value.isEmpty { return (key, value) }
        }
        return nil
    }

    /// Records a problem with `key`; services use it for checks that span several variables.
    public mutating func report(_ key: String, _ message: String) {
        problems.append(.init(key: key, message: message))
    }

    /// A string; required when `default` is nil. `aliases` are older names, read when `key` is unset.
    public mutating func string(_ key: String, aliases: [String] = [], default: String? = nil) -> String {
        if let (_, value) = raw([key] + aliases) { return value }
        if let `default` { return `default` }
        report(key, "is required but not set")
        return ""
    }

    /// A string that may be absent.
    public mutating func optionalString(_ key: String, aliases: [String] = []) -> String? {
        raw([key] + aliases)?.value
    }

    /// A whole number, optionally within `range`.
    public mutating func int(
        _ key: String, aliases: [String] = [], default: Int? = nil, in range: ClosedRange<Int>? = nil
    ) -> Int {
        guard let (found, text) = raw([key] + aliases) else {
            if let `default` { return `default` }
            report(key, "is required but not set")
            return 0
        }
        guard let value = Int(text.trimmingWhitespace()) else {
            report(found, "\"\(text)\" is not a whole number")
            return `default` ?? 0
        }
        if let range, !range.contains(value) {
            report(found, "\(value) is outside \(range.lowerBound)...\(range.upperBound)")
            return `default` ?? range.lowerBound
        }
        return value
    }

    /// A decimal number, optionally within `range`.
    public mutating func double(
        _ key: String, aliases: [String] = [], default: Double? = nil, in range: ClosedRange<Double>? = nil
    ) -> Double {
        guard let (found, text) = raw([key] + aliases) else {
            if let `default` { return `default` }
            report(key, "is required but not set")
            return 0
        }
        guard let value = Double(text.trimmingWhitespace()), value.isFinite else {
            report(found, "\"\(text)\" is not a number")
            return `default` ?? 0
        }
        if let range, !range.contains(value) {
            report(found, "\(value) is outside \(range.lowerBound)...\(range.upperBound)")
            return `default` ?? range.lowerBound
        }
        return value
    }

    /// A flag: true, false, 1, 0, yes, no, on or off, in any case.
    public mutating func bool(_ key: String, aliases: [String] = [], default: Bool) -> Bool {
        guard let (found, text) = raw([key] + aliases) else { return `default` }
        switch text.lowercased() {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default:
            report(found, "\"\(text)\" is not a flag (true/false, 1/0, yes/no, on/off)")
            return `default`
        }
    }

    /// An absolute URL with a scheme and a host, optionally limited to `schemes`.
    public mutating func url(
        _ key: String, aliases: [String] = [], default: String? = nil, schemes: Set<String>? = nil
    ) -> URL {
        let text = string(key, aliases: aliases, default: `default`)
        let found = raw([key] + aliases)?.key ?? key
        guard !text.isEmpty else { return URL(string: "about:blank")! }
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), url.host != nil else {
            // The text may hold credentials, so it is not repeated in the message.
            report(found, "is not an absolute URL with a host")
            return URL(string: "about:blank")!
        }
        if let schemes, !schemes.contains(scheme) {
            report(found, "has scheme \"\(scheme)\"; expected one of \(schemes.sorted().joined(separator: ", "))")
        }
        return url
    }

    /// A duration given in seconds (decimals allowed), greater than zero.
    public mutating func seconds(_ key: String, aliases: [String] = [], default: Duration) -> Duration {
        guard let (found, text) = raw([key] + aliases) else { return `default` }
        guard let value = Double(text.trimmingWhitespace()), value.isFinite, value > 0 else {
            report(found, "\"\(text)\" is not a positive number of seconds")
            return `default`
        }
        return .milliseconds(Int64((value * 1000).rounded()))
    }

    /// A list split on `separator`, with empty items dropped.
    public mutating func list(
        _ key: String, aliases: [String] = [], separator: Character = ",", default: [String]
    ) -> [String] {
        guard let (_, text) = raw([key] + aliases) else { return `default` }
        return text.split(separator: separator).map { $0.trimmingWhitespace() }
            .filter { !$0.isEmpty }
    }

    /// One of the cases of `type`, by raw value.
    public mutating func choice<T: RawRepresentable & CaseIterable>(
        _ key: String, aliases: [String] = [], as type: T.Type, default: T
    ) -> T where T.RawValue == String {
        guard let (found, text) = raw([key] + aliases) else { return `default` }
        if let value = T(rawValue: text.lowercased()) ?? T(rawValue: text) { return value }
        report(found, "\"\(text)\" is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
        return `default`
    }

    /// A secret of at least `minimumLength` bytes. Its value never appears in a message.
    public mutating func secret(
        _ key: String, aliases: [String] = [], minimumLength: Int = 1, default: String? = nil
    ) -> Secret {
        guard let (found, text) = raw([key] + aliases) else {
            if let `default` { return Secret(`default`, isDefault: true) }
            report(key, "is required but not set")
            return Secret("", isDefault: false)
        }
        if text.utf8.count < minimumLength {
            report(found, "is too short: at least \(minimumLength) bytes are required")
        }
        return Secret(text, isDefault: text == `default`)
    }

    /// The log level in `LOG_LEVEL` (trace, debug, info, notice, warning, error, critical).
    public mutating func logLevel(_ key: String = "LOG_LEVEL", default: Logger.Level = .info) -> Logger.Level {
        guard let (found, text) = raw([key]) else { return `default` }
        if let level = Logger.Level(rawValue: text.lowercased()) { return level }
        report(found, "\"\(text)\" is not a log level (trace, debug, info, notice, warning, error, critical)")
        return `default`
    }

    /// Throws one ``ConfigurationError`` naming every bad variable, if any.
    public func finish() throws {
        if !problems.isEmpty { throw ConfigurationError(problems: problems) }
    }
}

/// A configuration value that must never be logged or printed.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The secret itself: hand it only to the code that uses it.
    public let value: String
    /// Whether the value is the built-in local default, which production must not run with.
    public let isDefault: Bool

    /// Wraps `value`.
    public init(_ value: String, isDefault: Bool = false) {
        self.value = value
        self.isDefault = isDefault
    }

    /// Always `<redacted>`.
    public var description: String { "<redacted>" }
    /// Always `Secret(<redacted>)`.
    public var debugDescription: String { "Secret(<redacted>)" }
}

/// The configuration of a service is incomplete or wrong; it names every bad variable.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    /// One bad variable.
    public struct Problem: Sendable, Hashable {
        /// The variable's name.
        public let key: String
        /// What is wrong with it, without its value when that could be a secret.
        public let message: String
    }

    /// Every bad variable, in the order they were read.
    public let problems: [Problem]

    /// The names of the bad variables.
    public var keys: [String] { problems.map(\.key) }

    /// `invalid configuration: A is required but not set; B "x" is not a whole number`.
    public var description: String {
        "invalid configuration: " + problems.map { "\($0.key) \($0.message)" }.joined(separator: "; ")
    }
}
