/// The content of a twin spec file (`twin.yaml`, `twin.yml`, `twin.json`), as written.
///
/// Unlike `Twin`, a spec may lack its id and tenant (normalisation fills them from the folder and defaults)
/// and has a top-level `name` (which normalisation copies into `metadata.name`).
public struct TwinSpec: TwinDescribing, Hashable {
    /// `@id` (or `twin_id`), when written.
    public var id: String?
    /// The top-level `name`, when written.
    public var topLevelName: String?
    /// `tenant`, when written.
    public var tenant: String?
    /// `metadata`.
    public var metadata: [String: JSONValue]
    /// `interfaces`.
    public var interfaces: TwinInterfaces
    /// `dependencies`.
    public var dependencies: TwinDependencies
    /// Other top-level keys, kept as written.
    public var extra: [String: JSONValue]

    /// A spec with the given parts.
    public init(
        id: String? = nil, topLevelName: String? = nil, tenant: String? = nil, metadata: [String: JSONValue] = [:],
        interfaces: TwinInterfaces = TwinInterfaces(), dependencies: TwinDependencies = TwinDependencies(),
        extra: [String: JSONValue] = [:]
    ) {
        self.id = id
        self.topLevelName = topLevelName
        self.tenant = tenant
        self.metadata = metadata
        self.interfaces = interfaces
        self.dependencies = dependencies
        self.extra = extra
    }

    /// The JSON form: `@id`, `name`, `tenant` when set, then `metadata`, `interfaces`, `dependencies` and the
    /// extra keys.
    public var jsonValue: JSONValue {
        var object = extra
        if let id { object["@id"] = .string(id) }
        if let topLevelName { object["name"] = .string(topLevelName) }
        if let tenant { object["tenant"] = .string(tenant) }
        object["metadata"] = .object(metadata)
        object["interfaces"] = interfaces.jsonValue
        object["dependencies"] = dependencies.jsonValue
        return .object(object)
    }

    /// Reads a spec from JSON (e.g. an API body); accepts `@id` or `twin_id`.
    public init(json: JSONValue) throws(TwinValidationError) {
        self = try TwinSpec(node: SpecNode(json))
    }

    /// Every rule violation: id, tenant, status, domain, name, api URL, streams and dependency ids.
    public func validationProblems() -> [TwinValidationError] {
        TwinRules.problems(
            id: id, tenant: tenant, metadata: metadata, interfaces: interfaces, dependencies: dependencies)
    }

    /// Throws the first rule violation, if any.
    public func validate() throws(TwinValidationError) {
        if let first = validationProblems().first { throw first }
    }

    init(node: SpecNode) throws(TwinValidationError) {
        guard case .object(let members) = node.value else {
            throw TwinSpecDecoding.wrongType("(document)", expected: "a map", node)
        }
        self.init()
        var idKey: String?
        for member in members {
            let field = member.key
            let value = member.value
            switch field {
            case "@id", "twin_id":
                let text = try TwinSpecDecoding.string(value, field: field)
                if let idKey, id != text {
                    throw TwinSpecDecoding.fail(
                        .invalidValue, field, "'\(text)' disagrees with \(idKey) '\(id ?? "")'", value)
                }
                id = text
                idKey = field
            case "name": topLevelName = try TwinSpecDecoding.optionalString(value, field: field)
            case "tenant": tenant = try TwinSpecDecoding.optionalString(value, field: field)
            case "metadata":
                if case .null = value.value { continue }
                metadata = try TwinSpecDecoding.object(value, field: field)
            case "interfaces":
                if case .null = value.value { continue }
                interfaces = try TwinInterfaces(node: value, field: field)
            case "dependencies":
                if case .null = value.value { continue }
                dependencies = try TwinDependencies(node: value, field: field)
            default:
                extra[field] = try TwinSpecDecoding.json(value, field: field)
            }
        }
    }
}

extension TwinSpec: Codable {
    /// Decodes the JSON form.
    public init(from decoder: any Decoder) throws {
        self = try TwinSpec(json: JSONValue(from: decoder))
    }

    /// Encodes the JSON form.
    public func encode(to encoder: any Encoder) throws {
        try jsonValue.encode(to: encoder)
    }
}

/// How the earlier system completed a spec before registering it; discovery applies the same.
public struct TwinSpecNormalization: Sendable, Hashable {
    /// Use the twin folder's name as `@id` when the spec has none.
    public var idFromFolderName: Bool
    /// The tenant of a spec without one; `nil` leaves it unset.
    public var defaultTenant: String?
    /// Copy the top-level `name` into `metadata.name` when the metadata has none.
    public var nameIntoMetadata: Bool
    /// The `metadata.status` of a spec without one; `nil` leaves it unset.
    public var defaultStatus: LifecycleStatus?

    /// Options with the given parts.
    public init(
        idFromFolderName: Bool = true, defaultTenant: String? = "demo", nameIntoMetadata: Bool = true,
        defaultStatus: LifecycleStatus? = .instantiated
    ) {
        self.idFromFolderName = idFromFolderName
        self.defaultTenant = defaultTenant
        self.nameIntoMetadata = nameIntoMetadata
        self.defaultStatus = defaultStatus
    }

    /// The earlier system's behaviour: id from the folder, tenant `demo`, name into metadata, status
    /// `instantiated`.
    public static let earlierSystem = TwinSpecNormalization()

    /// No changes at all.
    public static let none = TwinSpecNormalization(
        idFromFolderName: false, defaultTenant: nil, nameIntoMetadata: false, defaultStatus: nil)
}

extension TwinSpec {
    /// This spec completed by `options`; `folderName` is the name of the folder holding the spec file.
    public func normalized(_ options: TwinSpecNormalization, folderName: String?) -> TwinSpec {
        var spec = self
        if spec.id == nil, options.idFromFolderName, let folderName, !folderName.isEmpty { spec.id = folderName }
        if spec.tenant == nil, let tenant = options.defaultTenant { spec.tenant = tenant }
        if options.nameIntoMetadata, spec.metadata["name"] == nil, let name = spec.topLevelName {
            spec.metadata["name"] = .string(name)
        }
        if spec.metadata["status"] == nil, let status = options.defaultStatus {
            spec.metadata["status"] = .string(status.rawValue)
        }
        return spec
    }
}
