/// A twin's `interfaces`: its API URL, its data streams, and any other keys, kept as written.
public struct TwinInterfaces: Sendable, Hashable {
    /// The twin's HTTP API or UI, e.g. `http://localhost:3001`; absent when not declared.
    public var api: String?
    /// The streams the twin publishes, in `interfaces.data_streams`.
    public var dataStreams: [DataStream]
    /// Other keys of `interfaces`, which DTP passes through untouched.
    public var extra: [String: JSONValue]

    /// Interfaces with the given parts.
    public init(api: String? = nil, dataStreams: [DataStream] = [], extra: [String: JSONValue] = [:]) {
        self.api = api
        self.dataStreams = dataStreams
        self.extra = extra
    }

    /// The JSON form: `api` (when set), `data_streams` (always) and the extra keys.
    public var jsonValue: JSONValue {
        var object = extra
        if let api { object["api"] = .string(api) }
        object["data_streams"] = .array(dataStreams.map(\.jsonValue))
        return .object(object)
    }

    /// Reads `interfaces` from JSON; errors name fields under `interfaces`.
    public init(json: JSONValue) throws(TwinValidationError) {
        self = try TwinInterfaces(node: SpecNode(json), field: "interfaces")
    }

    init(node: SpecNode, field: String) throws(TwinValidationError) {
        guard case .object(let members) = node.value else {
            throw TwinSpecDecoding.wrongType(field, expected: "a map", node)
        }
        self.init()
        for member in members {
            let name = "\(field).\(member.key)"
            switch member.key {
            case "api":
                api = try TwinSpecDecoding.optionalString(member.value, field: name)
            case "data_streams":
                if case .null = member.value.value { continue }
                guard case .array(let elements) = member.value.value else {
                    throw TwinSpecDecoding.wrongType(name, expected: "a list of streams", member.value)
                }
                for (index, element) in elements.enumerated() {
                    dataStreams.append(try DataStream(node: element, field: "\(name)[\(index)]"))
                }
            default:
                extra[member.key] = try TwinSpecDecoding.json(member.value, field: name)
            }
        }
    }
}

extension TwinInterfaces: Codable {
    /// Decodes the JSON form.
    public init(from decoder: any Decoder) throws {
        self = try TwinInterfaces(json: JSONValue(from: decoder))
    }

    /// Encodes the JSON form.
    public func encode(to encoder: any Encoder) throws {
        try jsonValue.encode(to: encoder)
    }
}

/// A twin's `dependencies`: the twins it needs, declared (`static`) or discovered at run time (`dynamic`).
public struct TwinDependencies: Sendable, Hashable {
    /// Twin ids declared in the spec.
    public var `static`: [String]
    /// Twin ids found at run time.
    public var dynamic: [String]

    /// Dependencies with the given ids.
    public init(static staticIDs: [String] = [], dynamic: [String] = []) {
        self.static = staticIDs
        self.dynamic = dynamic
    }

    /// `{"static": [...], "dynamic": [...]}`.
    public var jsonValue: JSONValue {
        .object(["static": .array(self.static.map(JSONValue.string)), "dynamic": .array(dynamic.map(JSONValue.string))])
    }

    /// Reads `dependencies` from JSON; only `static` and `dynamic` are allowed.
    public init(json: JSONValue) throws(TwinValidationError) {
        self = try TwinDependencies(node: SpecNode(json), field: "dependencies")
    }

    init(node: SpecNode, field: String) throws(TwinValidationError) {
        guard case .object(let members) = node.value else {
            throw TwinSpecDecoding.wrongType(field, expected: "a map", node)
        }
        self.init()
        for member in members {
            let name = "\(field).\(member.key)"
            if case .null = member.value.value { continue }
            switch member.key {
            case "static": self.static = try TwinSpecDecoding.stringList(member.value, field: name)
            case "dynamic": dynamic = try TwinSpecDecoding.stringList(member.value, field: name)
            default:
                throw TwinSpecDecoding.fail(.unknownKey, name, "unknown key (allowed: static, dynamic)", member.value)
            }
        }
    }
}

extension TwinDependencies: Codable {
    /// Decodes the JSON form.
    public init(from decoder: any Decoder) throws {
        self = try TwinDependencies(json: JSONValue(from: decoder))
    }

    /// Encodes the JSON form.
    public func encode(to encoder: any Encoder) throws {
        try jsonValue.encode(to: encoder)
    }
}
