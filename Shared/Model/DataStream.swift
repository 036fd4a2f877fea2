/// A data stream that a twin declares in `interfaces.data_streams`.
///
/// Two spellings exist: the earlier system's short form, a string `MQTT:dtp/lift/alerts`, and the structured
/// form `{protocol: MQTT, topic: dtp/lift/telemetry, kind: telemetry, qos: 1}`. A stream remembers which
/// form it was read in (`form`) and is written back in that form, so rewriting a spec does not reformat it.
/// The short form can carry only protocol and topic: a `.short` stream that gained a kind, a QoS or extra
/// keys is written in the structured form.
public struct DataStream: Sendable, Hashable {
    /// The spelling a stream was read in and is written in.
    public enum Form: String, Sendable, Hashable {
        /// `MQTT:topic`.
        case short
        /// `{protocol: MQTT, topic: ..., ...}`.
        case structured
    }

    /// The transport of a stream; only MQTT exists so far.
    public enum StreamProtocol: String, Sendable, Hashable, CaseIterable {
        /// MQTT 3.1.1/5 through the platform's broker.
        case mqtt = "MQTT"

        /// Reads a protocol name case-insensitively (`MQTT`, `mqtt`).
        public init?(name: String) {
            guard let match = Self.allCases.first(where: { $0.rawValue.lowercased() == name.lowercased() }) else {
                return nil
            }
            self = match
        }
    }

    /// What a stream carries. Open-ended: any non-empty name is allowed; the platform knows these.
    public struct Kind: RawRepresentable, Sendable, Hashable, ExpressibleByStringLiteral {
        /// The kind's name as written in the spec.
        public var rawValue: String

        /// A kind named `rawValue`.
        public init(rawValue: String) { self.rawValue = rawValue }

        /// A kind from a string literal.
        public init(stringLiteral value: String) { self.rawValue = value }

        /// Periodic measurements.
        public static let telemetry: Kind = "telemetry"
        /// Threshold alerts.
        public static let alerts: Kind = "alerts"
        /// State changes and other events.
        public static let events: Kind = "events"
    }

    /// The transport.
    public var streamProtocol: StreamProtocol
    /// The MQTT topic, or a topic filter with `+`/`#` wildcards.
    public var topic: String
    /// What the stream carries, when declared.
    public var kind: Kind?
    /// The MQTT QoS to subscribe with (0, 1 or 2), when declared.
    public var qos: Int?
    /// Keys of the structured form that DTP does not interpret, kept as written.
    public var extra: [String: JSONValue]
    /// The spelling this stream is written in.
    public var form: Form

    /// A stream in the structured form.
    public init(
        topic: String, kind: Kind? = nil, qos: Int? = nil, streamProtocol: StreamProtocol = .mqtt,
        extra: [String: JSONValue] = [:]
    ) {
        self.streamProtocol = streamProtocol
        self.topic = topic
        self.kind = kind
        self.qos = qos
        self.extra = extra
        self.form = .structured
    }

    /// A stream in the short form `MQTT:topic`.
    public static func short(_ topic: String, streamProtocol: StreamProtocol = .mqtt) -> DataStream {
        var stream = DataStream(topic: topic, streamProtocol: streamProtocol)
        stream.form = .short
        return stream
    }

    /// The short form of this stream, `MQTT:topic` (dropping kind, QoS and extra keys).
    public var shortForm: String { "\(streamProtocol.rawValue):\(topic)" }

    /// Whether this stream is written in the short form: it was read or made so and carries nothing more.
    public var isWrittenShort: Bool { form == .short && kind == nil && qos == nil && extra.isEmpty }

    /// The stream as written in a spec or in twin JSON, in its form.
    public var jsonValue: JSONValue {
        if isWrittenShort { return .string(shortForm) }
        var object = extra
        object["protocol"] = .string(streamProtocol.rawValue)
        object["topic"] = .string(topic)
        if let kind { object["kind"] = .string(kind.rawValue) }
        if let qos { object["qos"] = .int(qos) }
        return .object(object)
    }

    /// Reads a stream in either form; errors name `field` (e.g. `interfaces.data_streams[0]`).
    public init(json: JSONValue, field: String = "data_stream") throws(TwinValidationError) {
        self = try DataStream(node: SpecNode(json), field: field)
    }

    /// Why this stream is invalid, naming fields under `field`; empty when valid.
    public func validationProblems(field: String) -> [TwinValidationError] {
        var problems: [TwinValidationError] = []
        if let problem = MQTTTopic.problem(inFilter: topic) {
            let name = isWrittenShort ? field : field + ".topic"
            problems.append(TwinValidationError(.invalidValue, field: name, problem + " ('\(topic)')"))
        }
        if let qos, !(0...2).contains(qos) {
            problems.append(TwinValidationError(.invalidValue, field: field + ".qos", "qos must be 0, 1 or 2"))
        }
        if let kind, kind.rawValue.isEmpty {
            problems.append(TwinValidationError(.invalidValue, field: field + ".kind", "kind is empty"))
        }
        return problems
    }
}

extension DataStream: Codable {
    /// Decodes either form.
    public init(from decoder: any Decoder) throws {
        self = try DataStream(json: JSONValue(from: decoder))
    }

    /// Encodes the stream in its form.
    public func encode(to encoder: any Encoder) throws {
        try jsonValue.encode(to: encoder)
    }
}

extension DataStream {
    /// Reads a stream from a positioned node; type errors are located at the node.
    init(node: SpecNode, field: String) throws(TwinValidationError) {
        func fail(_ kind: TwinValidationError.Kind, _ name: String, _ message: String, _ at: SpecNode)
            -> TwinValidationError
        {
            TwinValidationError(kind, field: name, message).located(file: nil, at: at.position)
        }
        switch node.value {
        case .string(let text):
            guard let colon = text.firstIndex(of: ":") else {
                throw fail(.invalidValue, field, "expected 'MQTT:<topic>' or a map with protocol and topic", node)
            }
            let name = String(text[..<colon])
            guard let streamProtocol = StreamProtocol(name: name) else {
                throw fail(.invalidValue, field, "unknown protocol '\(name)' (supported: MQTT)", node)
            }
            self = .short(String(text[text.index(after: colon)...]), streamProtocol: streamProtocol)
        case .object(let members):
            var streamProtocol = StreamProtocol.mqtt
            var topic: String?
            var kind: Kind?
            var qos: Int?
            var extra: [String: JSONValue] = [:]
            for member in members {
                let value = member.value
                switch member.key {
                case "protocol":
                    guard case .string(let name) = value.value else {
                        throw fail(
                            .wrongType, field + ".protocol", "must be a string, not \(value.typeDescription)", value)
                    }
                    guard let known = StreamProtocol(name: name) else {
                        throw fail(
                            .invalidValue, field + ".protocol", "unknown protocol '\(name)' (supported: MQTT)", value)
                    }
                    streamProtocol = known
                case "topic":
                    guard case .string(let text) = value.value else {
                        throw fail(
                            .wrongType, field + ".topic", "must be a string, not \(value.typeDescription)", value)
                    }
                    topic = text
                case "kind":
                    guard case .string(let text) = value.value else {
                        throw fail(.wrongType, field + ".kind", "must be a string, not \(value.typeDescription)", value)
                    }
                    kind = Kind(rawValue: text)
                case "qos":
                    guard case .int(let level) = value.value else {
                        throw fail(.wrongType, field + ".qos", "must be 0, 1 or 2, not \(value.typeDescription)", value)
                    }
                    qos = level
                default:
                    extra[member.key] = try TwinSpecDecoding.json(value, field: field + "." + member.key)
                }
            }
            guard let topic else { throw fail(.missing, field + ".topic", "a structured stream needs a topic", node) }
            self.init(topic: topic, kind: kind, qos: qos, streamProtocol: streamProtocol, extra: extra)
        default:
            throw fail(
                .wrongType, field,
                "must be 'MQTT:<topic>' or a map with protocol and topic, not \(node.typeDescription)",
                node)
        }
    }
}
