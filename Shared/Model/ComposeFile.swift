import Foundation
import Yams

/// Just enough of a Docker Compose file to infer a twin's API URL: the first published port of a service.
public enum ComposeFile {
    /// Compose files larger than this are not parsed.
    public static let maxBytes = 1 << 20

    /// The first host port that `service` publishes in the compose file `yaml`, or `nil` when the service
    /// does not exist or publishes nothing.
    ///
    /// Understands the short syntax (`"3009:8000"`, `"127.0.0.1:3009:8000"`, `"[::1]:3009:8000/tcp"`,
    /// `"3009-3010:8000-8001"`, a bare container port publishes nothing) and the long syntax
    /// (`{target: 8000, published: 3009}`, `published` as a number or a string).
    /// - Throws: `TwinSpecError` when the file is too large or not YAML.
    public static func firstPublishedPort(service: String, in yaml: Data, file: String? = nil) throws -> Int? {
        guard yaml.count <= maxBytes else {
            throw TwinSpecError(.tooLarge, "the compose file is larger than \(maxBytes) bytes", file: file)
        }
        guard let text = String(data: yaml, encoding: .utf8) else {
            throw TwinSpecError(.notText, "the compose file is not UTF-8 text", file: file)
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text, .default, .default, .utf8)
        } catch let error as YamlError {
            throw TwinSpecError(.syntax, "the compose file is not valid YAML: \(Self.summary(of: error))", file: file)
        }
        guard let ports = root?["services"]?[service]?["ports"], case .sequence(let entries) = ports else {
            return nil
        }
        for entry in entries {
            if let port = publishedPort(of: entry) { return port }
        }
        return nil
    }

    /// `http://localhost:<port>` for the first published port of `service`, the earlier system's inference of
    /// a missing `interfaces.api`.
    public static func inferredAPI(service: String = "ui", in yaml: Data, file: String? = nil) throws -> String? {
        try firstPublishedPort(service: service, in: yaml, file: file).map { "http://localhost:\($0)" }
    }

    private static func publishedPort(of entry: Node) -> Int? {
        switch entry {
        case .scalar(let scalar):
            return publishedPort(shortSyntax: scalar.string)
        case .mapping:
            guard let published = entry["published"], case .scalar(let scalar) = published else { return nil }
            return firstPort(in: Substring(scalar.string))
        default:
            return nil
        }
    }

    /// `[[ip:]host:]container[/protocol]`; a published port exists only when a host part does.
    static func publishedPort(shortSyntax text: String) -> Int? {
        var spec = Substring(text.trimmingCharacters(in: .whitespaces))
        if let slash = spec.firstIndex(of: "/") { spec = spec[..<slash] }
        if spec.hasPrefix("[") {
            guard let close = spec.firstIndex(of: "]") else { return nil }
            spec = spec[spec.index(after: close)...].drop(while: { $0 == ":" })
            return firstPort(in: spec.split(separator: ":", omittingEmptySubsequences: false).first ?? "")
        }
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 2 else { return nil }
        return firstPort(in: parts[parts.count - 2])
    }

    private static func firstPort(in text: Substring) -> Int? {
        let first = text.split(separator: "-").first ?? ""
        guard let port = Int(first.trimmingCharacters(in: .whitespaces)), (1...65_535).contains(port) else {
            return nil
        }
        return port
    }

    private static func summary(of error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            return "\(problem) at line \(mark.line), column \(mark.column)"
        default:
            return "unreadable YAML"
        }
    }
}
