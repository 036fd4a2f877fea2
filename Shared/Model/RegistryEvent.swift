/// One change announced by the registry's outbox, streamed over SSE (`GET /api/registry/events`) and fanned
/// out to the portal.
///
/// JSON: `{"id": 42, "type": "twin.update", "tenant": "demo", "payload": {...}, "ts": "...Z"}` — the earlier
/// portal stream's shape plus `id`, which the SSE `id:` line repeats for `Last-Event-ID` resumption.
public struct RegistryEvent: Sendable, Hashable, Codable {
    /// The type of a change; open-ended, with the types the platform emits as static members.
    public struct EventType: RawRepresentable, Sendable, Hashable, Codable, ExpressibleByStringLiteral,
        CustomStringConvertible
    {
        /// The type's name, e.g. `twin.update`.
        public var rawValue: String

        /// A type named `rawValue`.
        public init(rawValue: String) { self.rawValue = rawValue }

        /// A type from a string literal.
        public init(stringLiteral value: String) { self.rawValue = value }

        /// Decodes the name.
        public init(from decoder: any Decoder) throws {
            rawValue = try decoder.singleValueContainer().decode(String.self)
        }

        /// Encodes the name.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(rawValue)
        }

        /// The name.
        public var description: String { rawValue }

        /// A twin was created or changed; the payload is the twin's JSON (with `twin_id` and `metadata`).
        public static let twinUpdate: EventType = "twin.update"
        /// A twin was deleted; the payload is `{"twin_id": ...}`.
        public static let twinDelete: EventType = "twin.delete"
        /// A service was registered or changed; the payload is the service's JSON.
        public static let serviceUpdate: EventType = "service.update"
        /// A service was deleted; the payload is `{"id": ...}`.
        public static let serviceDelete: EventType = "service.delete"
    }

    /// The outbox id: increasing, the SSE event id.
    public var id: Int64
    /// The tenant the change belongs to.
    public var tenant: String
    /// What changed.
    public var type: EventType
    /// The changed entity or its id.
    public var payload: JSONValue
    /// When the change committed.
    public var ts: Timestamp
    /// Who made the change (`service:discovery`, `user:alice`), when the registry recorded it.
    public var actor: String?

    /// An event with the given parts.
    public init(
        id: Int64, tenant: String, type: EventType, payload: JSONValue, ts: Timestamp, actor: String? = nil
    ) {
        self.id = id
        self.tenant = tenant
        self.type = type
        self.payload = payload
        self.ts = ts
        self.actor = actor
    }

    /// The payload of a `twin.update` event for `twin`.
    public static func twinUpdatePayload(_ twin: Twin) -> JSONValue { twin.jsonValue }

    /// The payload of a `twin.delete` event for the twin `id`.
    public static func twinDeletePayload(id: String) -> JSONValue { .object(["twin_id": .string(id)]) }
}
