/// What a twin spec and a registered twin have in common, and the typed views of their metadata.
///
/// Status, domains and name live inside `metadata`, as in the earlier system; these accessors read and
/// write them there.
public protocol TwinDescribing: Sendable {
    /// Free-form metadata; `status`, `domain` and `name` have meaning to DTP.
    var metadata: [String: JSONValue] { get set }
    /// The twin's interfaces.
    var interfaces: TwinInterfaces { get set }
    /// The twin's dependencies.
    var dependencies: TwinDependencies { get set }
}

extension TwinDescribing {
    /// `metadata.status` when it names a lifecycle status; setting `nil` removes it.
    public var status: LifecycleStatus? {
        get { metadata["status"]?.stringValue.flatMap(LifecycleStatus.init(rawValue:)) }
        set { metadata["status"] = newValue.map { .string($0.rawValue) } }
    }

    /// `metadata.domain`, a list of domain names (a single string counts as one domain).
    public var domains: [String] {
        get {
            switch metadata["domain"] {
            case .string(let domain): return [domain]
            case .array(let domains): return domains.compactMap(\.stringValue)
            default: return []
            }
        }
        set { metadata["domain"] = .array(newValue.map(JSONValue.string)) }
    }

    /// `metadata.name`, the twin's display name.
    public var name: String? {
        get { metadata["name"]?.stringValue }
        set { metadata["name"] = newValue.map(JSONValue.string) }
    }
}

/// The rules a twin must satisfy, shared by specs and registered twins.
enum TwinRules {
    static let maxIDLength = 200

    static func idProblem(_ id: String) -> String? {
        if id.isEmpty { return "must not be empty" }
        if id.count > maxIDLength { return "is \(id.count) characters long; at most \(maxIDLength) are allowed" }
        if let bad = id.unicodeScalars.first(where: { !isIDScalar($0) }) {
            return "contains '\(bad.escaped(asASCII: true))'; only letters, digits and ':._-' are allowed"
        }
        return nil
    }

    static func isIDScalar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", ":", ".", "_", "-": return true
        default: return false
        }
    }

    static func apiProblem(_ api: String) -> String? {
        guard let colon = api.firstIndex(of: ":"), let components = URLParts(api) else {
            return "'\(api)' is not a URL"
        }
        let scheme = api[..<colon].lowercased()
        guard scheme == "http" || scheme == "https" else { return "must be an http(s) URL, not '\(scheme):'" }
        guard !components.host.isEmpty else { return "'\(api)' has no host" }
        return nil
    }

    /// Every rule violation of a twin's parts, in field order.
    static func problems(
        id: String?, tenant: String?, metadata: [String: JSONValue], interfaces: TwinInterfaces,
        dependencies: TwinDependencies
    ) -> [TwinValidationError] {
        var problems: [TwinValidationError] = []
        if let id {
            if let problem = idProblem(id) {
                problems.append(TwinValidationError(.invalidValue, field: "@id", problem))
            }
        } else {
            problems.append(TwinValidationError(.missing, field: "@id", "@id required"))
        }
        if let tenant, let problem = idProblem(tenant) {
            problems.append(TwinValidationError(.invalidValue, field: "tenant", problem))
        }
        switch metadata["status"] {
        case nil, .null?: break
        case .string(let status)?:
            if LifecycleStatus(rawValue: status) == nil {
                let allowed = LifecycleStatus.allCases.map(\.rawValue).joined(separator: ", ")
                problems.append(
                    TwinValidationError(.invalidValue, field: "metadata.status", "'\(status)' is not one of \(allowed)")
                )
            }
        case let other?:
            problems.append(
                TwinValidationError(
                    .wrongType, field: "metadata.status", "must be a string, not \(other.typeDescription)"))
        }
        switch metadata["domain"] {
        case nil, .null?, .string?: break
        case .array(let domains)?:
            for (index, domain) in domains.enumerated() where domain.stringValue == nil {
                problems.append(
                    TwinValidationError(
                        .wrongType, field: "metadata.domain[\(index)]",
                        "must be a string, not \(domain.typeDescription)"))
            }
        case let other?:
            problems.append(
                TwinValidationError(
                    .wrongType, field: "metadata.domain", "must be a list of strings, not \(other.typeDescription)"))
        }
        if let name = metadata["name"], name.stringValue == nil, !name.isNull {
            problems.append(
                TwinValidationError(.wrongType, field: "metadata.name", "must be a string, not \(name.typeDescription)")
            )
        }
        if let api = interfaces.api, let problem = apiProblem(api) {
            problems.append(TwinValidationError(.invalidValue, field: "interfaces.api", problem))
        }
        for (index, stream) in interfaces.dataStreams.enumerated() {
            problems += stream.validationProblems(field: "interfaces.data_streams[\(index)]")
        }
        for (list, ids) in [("static", dependencies.static), ("dynamic", dependencies.dynamic)] {
            for (index, dependency) in ids.enumerated() {
                if let problem = idProblem(dependency) {
                    problems.append(
                        TwinValidationError(.invalidValue, field: "dependencies.\(list)[\(index)]", problem))
                }
            }
        }
        return problems
    }
}

/// The scheme-relative parts of an absolute URL, parsed strictly enough to tell a URL from prose.
struct URLParts {
    var host: String

    init?(_ text: String) {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let scheme = text[..<colon]
        guard let first = scheme.first, first.isASCII, first.isLetter,
            scheme.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) })
        else { return nil }
        guard !text.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 } == true }) else {
            return nil
        }
        let rest = text[text.index(after: colon)...]
        guard rest.hasPrefix("//") else { return nil }
        let authority = rest.dropFirst(2).prefix(while: { $0 != "/" && $0 != "?" && $0 != "#" })
        let hostPort = authority.split(separator: "@", omittingEmptySubsequences: false).last ?? ""
        var host = hostPort
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { return nil }
            host = hostPort[...close]
            let after = hostPort[hostPort.index(after: close)...]
            guard after.isEmpty || (after.hasPrefix(":") && after.dropFirst().allSatisfy(\.isNumber)) else {
                return nil
            }
        } else if let portColon = hostPort.lastIndex(of: ":") {
            host = hostPort[..<portColon]
            let port = hostPort[hostPort.index(after: portColon)...]
            guard port.allSatisfy(\.isNumber), port.count <= 5 else { return nil }
        }
        self.host = String(host)
    }
}
