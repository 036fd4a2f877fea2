import Crypto
import Foundation

/// The service-to-service tokens a service accepts, one per calling service.
///
/// Tokens are kept only as SHA-256 digests and a presented token is compared against every one of them
/// in constant time, so neither the comparison's duration nor an early exit tells an attacker how much
/// of a guess was right.
public struct ServiceTokens: Sendable {
    private let entries: [(name: String, digest: [UInt8])]

    /// Tokens by calling service name.
    public init(_ tokens: [String: String]) {
        entries = tokens.filter { !$0.value.isEmpty }.sorted { $0.key < $1.key }.map {
            (name: $0.key, digest: Array(SHA256.hash(data: Data($0.value.utf8))))
        }
    }

    /// The calling services' names.
    public var names: [String] { entries.map(\.name) }

    /// Whether no token is configured.
    public var isEmpty: Bool { entries.isEmpty }

    /// The name of the service whose token `token` is, or nil.
    public func service(for token: String) -> String? {
        let presented = Array(SHA256.hash(data: Data(token.utf8)))
        var match: String?
        for entry in entries {
            var difference: UInt8 = 0
            for index in 0..<presented.count { difference |= presented[index] ^ entry.digest[index] }
            if difference == 0, match == nil { match = entry.name }
        }
        return match
    }

    /// Reads `DTP_SERVICE_TOKENS` (`name:token,name:token`) and every `DTP_SERVICE_TOKEN_<NAME>`
    /// variable (the name lower-cased); returns the tokens and the variables that could not be parsed.
    public static func parse(environment: [String: String]) -> (tokens: [String: String], badKeys: [String]) {
        var tokens: [String: String] = [:]
        var bad: [String] = []
        if let list = environment["DTP_SERVICE_TOKENS"], !list.isEmpty {
            for item in list.split(separator: ",") {
                let pair = item.split(separator: ":", maxSplits: 1)
                let name = pair.first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
                let token = pair.count == 2 ? pair[1].trimmingCharacters(in: .whitespaces) : ""
                if name.isEmpty || token.isEmpty {
                    if !bad.contains("DTP_SERVICE_TOKENS") { bad.append("DTP_SERVICE_TOKENS") }
                    continue
                }
                tokens[name] = token
            }
        }
        let prefix = "DTP_SERVICE_TOKEN_"
        for (key, value) in environment where key.hasPrefix(prefix) && key.count > prefix.count && !value.isEmpty {
            tokens[String(key.dropFirst(prefix.count)).lowercased()] = value
        }
        return (tokens, bad)
    }
}
