/// The kind of a service in the service registry, as the earlier API defined them.
public enum ServiceCategory: String, Sendable, Hashable, Codable, CaseIterable {
    /// Analytics.
    case ana = "ANA"
    /// Data management.
    case dms = "DMS"
    /// User interface.
    case ui = "UI"
    /// Data collection.
    case dc = "DC"
    /// Simulation and data synthesis.
    case sds = "SDS"
    /// Decision and optimisation.
    case `do` = "DO"
    /// Actuation.
    case act = "ACT"
}

/// An entry of the service registry. JSON: `{"id", "name", "tenant", "category", "interfaces", "health",
/// "twin_ref"}`; `interfaces.public: true` makes the service visible to every user.
public struct Service: Sendable, Hashable {
    /// The registry's id for the service; `nil` in a registration body before the registry assigns one.
    public var id: String?
    /// A display name.
    public var name: String
    /// The tenant that owns the service.
    public var tenant: String
    /// What the service does.
    public var category: ServiceCategory
    /// Free-form interfaces (URLs, topics); `public` is the visibility flag.
    public var interfaces: [String: JSONValue]
    /// Free-form health information (a URL or a status object), `null` when not given.
    public var health: JSONValue
    /// The id of the twin the service belongs to, if any.
    public var twinRef: String?

    /// A service with the given parts.
    public init(
        id: String? = nil, name: String = "", tenant: String = "demo", category: ServiceCategory,
        interfaces: [String: JSONValue] = [:], health: JSONValue = .null, twinRef: String? = nil
    ) {
        self.id = id
        self.name = name
        self.tenant = tenant
        self.category = category
        self.interfaces = interfaces
        self.health = health
        self.twinRef = twinRef
    }

    /// Whether `interfaces.public` is `true`.
    public var isPublic: Bool {
        get { interfaces["public"]?.boolValue ?? false }
        set { interfaces["public"] = .bool(newValue) }
    }
}

extension Service: Codable {
    private enum CodingKeys: String, CodingKey {
        case id, name, tenant, category, interfaces, health
        case twinRef = "twin_ref"
    }

    /// Decodes the registry JSON; `category` and `interfaces` are required, as the earlier API required them.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try container.decodeIfPresent(String.self, forKey: .id),
            name: try container.decodeIfPresent(String.self, forKey: .name) ?? "",
            tenant: try container.decodeIfPresent(String.self, forKey: .tenant) ?? "demo",
            category: try container.decode(ServiceCategory.self, forKey: .category),
            interfaces: try container.decode([String: JSONValue].self, forKey: .interfaces),
            health: try container.decodeIfPresent(JSONValue.self, forKey: .health) ?? .null,
            twinRef: try container.decodeIfPresent(String.self, forKey: .twinRef))
    }

    /// Encodes the registry JSON (`twin_ref` as `null` when unset, as the earlier API wrote it).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(tenant, forKey: .tenant)
        try container.encode(category, forKey: .category)
        try container.encode(interfaces, forKey: .interfaces)
        try container.encode(health, forKey: .health)
        try container.encode(twinRef, forKey: .twinRef)
    }
}
