/// A twin as the registry holds it: the spec's content plus identity, timestamps and a version for
/// optimistic concurrency.
///
/// Its JSON is the earlier API's (`twin_id`, `tenant`, `metadata`, `interfaces`, `dependencies`,
/// `created_at`, `updated_at`) plus `@id` (same value as `twin_id`), `version` and `etag`. Input accepts
/// `@id` or `twin_id`.
public struct Twin: TwinDescribing, Hashable {
    /// The twin's id (`@id`), e.g. `dt:Lift_001`.
    public var id: String
    /// The tenant that owns the twin.
    public var tenant: String
    /// Free-form metadata with `status`, `domain` and `name`.
    public var metadata: [String: JSONValue]
    /// The API URL, data streams and other interface keys.
    public var interfaces: TwinInterfaces
    /// Static and dynamic dependencies.
    public var dependencies: TwinDependencies
    /// When the registry first stored the twin.
    public var createdAt: Timestamp
    /// When the registry last changed the twin.
    public var updatedAt: Timestamp
    /// Incremented on every change; a write names the version it read.
    public var version: Int
    /// The HTTP entity tag of this version.
    public var etag: String

    /// A twin with the given parts; `etag` defaults to `Twin.etag(forVersion:)`.
    public init(
        id: String, tenant: String = "demo", metadata: [String: JSONValue] = [:],
        interfaces: TwinInterfaces = TwinInterfaces(), dependencies: TwinDependencies = TwinDependencies(),
        createdAt: Timestamp, updatedAt: Timestamp, version: Int = 1, etag: String? = nil
    ) {
        self.id = id
        self.tenant = tenant
        self.metadata = metadata
        self.interfaces = interfaces
        self.dependencies = dependencies
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.version = version
        self.etag = etag ?? Twin.etag(forVersion: version)
    }

    /// A twin made from a (normalised) spec; the spec must have an id. The tenant defaults to `demo`.
    public init(
        spec: TwinSpec, createdAt: Timestamp, updatedAt: Timestamp, version: Int = 1
    ) throws(TwinValidationError) {
        guard let id = spec.id else { throw TwinValidationError(.missing, field: "@id", "@id required") }
        self.init(
            id: id, tenant: spec.tenant ?? "demo", metadata: spec.metadata, interfaces: spec.interfaces,
            dependencies: spec.dependencies, createdAt: createdAt, updatedAt: updatedAt, version: version)
    }

    /// The spec of this twin (without a top-level name; the name lives in `metadata.name`).
    public var spec: TwinSpec {
        TwinSpec(id: id, tenant: tenant, metadata: metadata, interfaces: interfaces, dependencies: dependencies)
    }

    /// The entity tag of a version: a strong tag, `"<version>"`.
    public static func etag(forVersion version: Int) -> String { "\"\(version)\"" }

    /// Every rule violation of this twin.
    public func validationProblems() -> [TwinValidationError] {
        TwinRules.problems(
            id: id, tenant: tenant, metadata: metadata, interfaces: interfaces, dependencies: dependencies)
    }

    /// Throws the first rule violation, if any.
    public func validate() throws(TwinValidationError) {
        if let first = validationProblems().first { throw first }
    }

    /// The twin's JSON, as `Codable` writes it.
    public var jsonValue: JSONValue {
        .object([
            "@id": .string(id), "twin_id": .string(id), "tenant": .string(tenant), "metadata": .object(metadata),
            "interfaces": interfaces.jsonValue, "dependencies": dependencies.jsonValue,
            "created_at": .string(createdAt.iso8601), "updated_at": .string(updatedAt.iso8601),
            "version": .int(version), "etag": .string(etag),
        ])
    }
}

extension Twin: Codable {
    private enum CodingKeys: String, CodingKey {
        case atID = "@id"
        case twinID = "twin_id"
        case tenant, metadata, interfaces, dependencies, version, etag
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    /// Decodes the twin JSON; `@id` or `twin_id` is required, the others default as the earlier API did.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard
            let id = try container.decodeIfPresent(String.self, forKey: .atID)
                ?? container.decodeIfPresent(String.self, forKey: .twinID)
        else {
            throw DecodingError.keyNotFound(
                CodingKeys.atID, .init(codingPath: container.codingPath, debugDescription: "@id required"))
        }
        let version = try container.decodeIfPresent(Int.self, forKey: .version) ?? 1
        self.init(
            id: id,
            tenant: try container.decodeIfPresent(String.self, forKey: .tenant) ?? "demo",
            metadata: try container.decodeIfPresent([String: JSONValue].self, forKey: .metadata) ?? [:],
            interfaces: try container.decodeIfPresent(TwinInterfaces.self, forKey: .interfaces) ?? TwinInterfaces(),
            dependencies: try container.decodeIfPresent(TwinDependencies.self, forKey: .dependencies)
                ?? TwinDependencies(),
            createdAt: try container.decode(Timestamp.self, forKey: .createdAt),
            updatedAt: try container.decode(Timestamp.self, forKey: .updatedAt),
            version: version,
            etag: try container.decodeIfPresent(String.self, forKey: .etag))
    }

    /// Encodes the earlier API's shape plus `@id`, `version` and `etag`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .atID)
        try container.encode(id, forKey: .twinID)
        try container.encode(tenant, forKey: .tenant)
        try container.encode(metadata, forKey: .metadata)
        try container.encode(interfaces, forKey: .interfaces)
        try container.encode(dependencies, forKey: .dependencies)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
        try container.encode(version, forKey: .version)
        try container.encode(etag, forKey: .etag)
    }
}
