import Crypto
import DTPInfluxDB
import DTPModel
import Foundation

/// Turns received messages into rows, following the mapping in the README:
///
/// - the earlier sensor format `{signal_id?, name, unit, value, ts?, source?}` gives a signal and an
///   observation;
/// - any other JSON object gives one observation per numeric field (nested objects flattened with `.`), as
///   signal `<twin id>/<field>` (or `<topic>/<field>` without a twin), with the unit from the twin's
///   `metadata.units` when given;
/// - a `type` ending in `alert` or `event` also gives an `event_log` row, with `severity` from the payload
///   (0–3 or info/warning/error/critical) or by type (alert 1, event 0);
/// - every message gives one InfluxDB point: measurement from `type` or the topic's last level, tags
///   `twin`, `signal` and `source`, numeric fields as floats, strings and booleans as they are;
/// - a missing `ts` means the time of receipt.
///
/// Anything else is rejected with a kind and a reason, never thrown.
struct MessageMapper: Sendable {
    /// The largest payload accepted.
    var maxPayloadBytes = IngestorConfig.maxPayloadBytes
    /// How far beyond the time of receipt a `ts` may lie, in microseconds.
    var maxFutureMicros: Int64 = 300_000_000
    /// How much of a rejected payload is kept.
    var rejectKeepBytes = 4096
    /// The most fields a payload may have.
    var maxFields = 1000

    /// Keys that carry a message id, in order of preference.
    static let idKeys = ["message_id", "msg_id", "id"]
    /// Keys that are never observations (compared rather than hashed: checked for every field).
    static func isReserved(_ key: String) -> Bool {
        switch key {
        case "ts", "id", "message_id", "msg_id", "severity", "twin_id": true
        default: false
        }
    }
    /// 2000-01-01T00:00:00Z: earlier times are taken for mistakes.
    static let earliest: Int64 = 946_684_800_000_000

    /// Maps `record`, which matched `resolution`'s stream.
    func map(_ record: JournalRecord, resolution: TopicCatalog.Resolution) -> MappedMessage {
        let stream = resolution.stream ?? record.topic
        func reject(_ kind: String, _ reason: String) -> MappedMessage {
            MappedMessage(
                key: Self.key("r", record.topic, record.payload, receivedAt: record.receivedAt), topic: record.topic,
                stream: stream, receivedAt: record.receivedAt,
                content: .rejected(
                    .init(
                        kind: kind, reason: reason, payload: Array(record.payload.prefix(rejectKeepBytes)),
                        size: record.payload.count)))
        }
        let payload = record.payload
        if payload.count > maxPayloadBytes {
            return reject("too_large", "payload of \(payload.count) bytes is over the \(maxPayloadBytes) byte limit")
        }
        let object: PayloadMembers
        let text: String
        if let flat = FlatJSON.object(payload) {
            object = flat
            text = String(decoding: payload, as: UTF8.self)
        } else {
            if payload.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
                return reject("empty", "empty payload")
            }
            guard let valid = String(validating: payload, as: UTF8.self) else {
                return reject("not_utf8", "payload is not UTF-8")
            }
            text = valid
            if Self.containsEscapedNUL(payload) || payload.contains(0) {
                return reject("nul_character", "payload contains a NUL character, which the stores cannot hold")
            }
            let json: JSONValue
            do {
                json = try JSONValue(jsonText: text, maxDepth: 32)
            } catch let error as JSONValue.ParseError {
                if text.contains("NaN") || text.contains("Infinity") || error.message.contains("out of range") {
                    return reject("non_finite", "NaN or Infinity is not a JSON number")
                }
                if error.message.contains("deep") || error.message.contains("nest") {
                    return reject("too_deep", "nested deeper than 32 levels")
                }
                return reject("not_json", "not JSON: \(error)")
            } catch {
                return reject("not_json", "not JSON: \(error)")
            }
            guard case .object(let members) = json else {
                return reject("not_object", "payload is JSON \(json.typeDescription), not an object")
            }
            if members.isEmpty { return reject("no_fields", "payload is an empty object") }
            object = PayloadMembers(members)
        }

        // Time: the payload's, checked, else the time of receipt.
        var ts = record.receivedAt
        var hasTimestamp = false
        if let value = object["ts"], !value.isNull {
            switch Self.timestamp(value) {
            case .success(let micros):
                if micros < Self.earliest { return reject("bad_ts", "ts lies before 2000") }
                if micros > record.receivedAt + maxFutureMicros {
                    return reject("future_ts", "ts lies more than \(maxFutureMicros / 1_000_000) s in the future")
                }
                ts = micros
                hasTimestamp = true
            case .failure(let error):
                return reject("bad_ts", error.reason)
            }
        }
        var type: String?
        if let value = object["type"], !value.isNull {
            guard let text = value.stringValue, !text.isEmpty else {
                return reject("wrong_type", "type must be a non-empty string")
            }
            type = text
        }
        var source: String?
        if let value = object["source"], !value.isNull {
            guard let text = value.stringValue else { return reject("wrong_type", "source must be a string") }
            source = text
        }
        let twin = resolution.twin
        var twinID = twin?.id
        if twinID == nil, let value = object["twin_id"] {
            guard let text = value.stringValue else { return reject("wrong_type", "twin_id must be a string") }
            twinID = text
        }

        // The key: a payload id when there is one, else the payload itself when it carries its time,
        // else the payload and the time of receipt (kept in the spool, so replays give the same key).
        let key: UUID
        if let id = Self.idKeys.lazy.compactMap({ object[$0] }).first.flatMap(Self.idText) {
            key = Self.key("i", record.topic, Array(id.utf8), receivedAt: nil)
        } else if hasTimestamp {
            key = Self.key("p", record.topic, payload, receivedAt: nil)
        } else {
            key = Self.key("p", record.topic, payload, receivedAt: record.receivedAt)
        }

        var stored = MappedMessage.Stored()
        stored.twins = resolution.twins
        let owner = twinID ?? record.topic
        var fields: [(String, InfluxFieldValue)] = []
        var tags: [String: String] = [:]
        if let twinID { tags["twin"] = twinID }
        if let source { tags["source"] = source }

        if object["name"] != nil && object["value"] != nil && type == nil {
            // The earlier sensor format.
            guard let name = object["name"]?.stringValue, !name.isEmpty, name.utf8.count <= 200 else {
                return reject("wrong_type", "name must be a non-empty string of at most 200 bytes")
            }
            guard let value = Self.number(object["value"]!) else {
                if case .double = object["value"]! { return reject("non_finite", "value is not finite") }
                return reject("wrong_type", "value must be a number, not \(object["value"]!.typeDescription)")
            }
            var unit: String?
            if let given = object["unit"], !given.isNull {
                guard let text = given.stringValue else { return reject("wrong_type", "unit must be a string") }
                unit = text
            }
            var signalID = owner + "/" + name
            if let given = object["signal_id"], !given.isNull {
                guard let text = given.stringValue, !text.isEmpty else {
                    return reject("wrong_type", "signal_id must be a non-empty string")
                }
                signalID = text
            }
            stored.signals.append(.init(id: signalID, name: name, unit: unit, twinID: twinID))
            stored.observations.append(.init(ts: ts, signalID: signalID, value: value, twinID: twinID, source: source))
            tags["signal"] = signalID
            fields.append(("value", .float(value)))
            fields.append(("name", .string(name)))
            if let unit { fields.append(("unit", .string(unit))) }
        } else {
            var flat: [(String, JSONValue)] = []
            Self.flatten(object.pairs, prefix: "", into: &flat, limit: maxFields + 1)
            if flat.count > maxFields { return reject("too_many_fields", "more than \(maxFields) fields") }
            for (field, value) in flat.sorted(by: { $0.0 < $1.0 }) {
                if field.isEmpty || field.utf8.count > 200 {
                    return reject("bad_field", "a field name is empty or longer than 200 bytes")
                }
                if Self.isReserved(field) || field == "type" || field == "source" { continue }
                switch value {
                case .int, .double:
                    guard let number = Self.number(value) else {
                        return reject("non_finite", "field '\(field)' is not finite")
                    }
                    let signalID = owner + "/" + field
                    stored.signals.append(.init(id: signalID, name: field, unit: twin?.units[field], twinID: twinID))
                    stored.observations.append(
                        .init(ts: ts, signalID: signalID, value: number, twinID: twinID, source: source))
                    fields.append((field, .float(number)))
                case .string(let text):
                    fields.append((field, .string(text)))
                case .bool(let flag):
                    fields.append((field, .bool(flag)))
                case .null, .array, .object:
                    continue
                }
            }
            if let type {
                fields.append(("type", .string(type)))
                let lowered = type.lowercased()
                if lowered.hasSuffix("alert") || lowered.hasSuffix("event") {
                    var severity = lowered.hasSuffix("alert") ? 1 : 0
                    if let given = object["severity"], !given.isNull {
                        guard let level = Self.severity(given) else {
                            return reject("wrong_type", "severity must be 0-3 or info, warning, error, critical")
                        }
                        severity = level
                    }
                    stored.event = .init(
                        ts: ts, severity: severity, type: type, twinID: twinID, source: source, body: text)
                }
            }
        }
        if !fields.isEmpty {
            let topic = record.topic.utf8
            let leaf =
                topic.lastIndex(of: UInt8(ascii: "/")).map { String(Substring(topic[topic.index(after: $0)...])) }
                ?? record.topic
            stored.point = InfluxPoint(measurement: type ?? leaf, tags: tags, fields: fields, timestamp: ts * 1000)
        }
        if stored.observations.isEmpty && stored.event == nil && stored.point == nil {
            return reject("no_fields", "payload has no numeric, string or boolean field to store")
        }
        return MappedMessage(
            key: key, topic: record.topic, stream: stream, receivedAt: record.receivedAt, content: .stored(stored))
    }

    /// Flattens nested objects into dotted names, stopping once `limit` fields were found.
    static func flatten(
        _ object: some Sequence<(key: String, value: JSONValue)>, prefix: String,
        into fields: inout [(String, JSONValue)], limit: Int
    ) {
        for (key, value) in object {
            if fields.count >= limit { return }
            let name = prefix.isEmpty ? key : prefix + "." + key
            if case .object(let inner) = value {
                flatten(inner, prefix: name, into: &fields, limit: limit)
            } else {
                fields.append((name, value))
            }
        }
    }

    /// A finite number, or nil.
    static func number(_ value: JSONValue) -> Double? {
        switch value {
        case .int(let int): Double(int)
        case .double(let double): double.isFinite ? double : nil
        default: nil
        }
    }

    /// A message id as text: a string or an integer.
    static func idText(_ value: JSONValue) -> String? {
        switch value {
        case .string(let text): text.isEmpty ? nil : text
        case .int(let int): String(int)
        default: nil
        }
    }

    /// A severity of 0–3, from a number or a name.
    static func severity(_ value: JSONValue) -> Int? {
        if case .int(let level) = value, (0...3).contains(level) { return level }
        switch value.stringValue?.lowercased() {
        case "info", "debug", "notice": return 0
        case "warning", "warn": return 1
        case "error": return 2
        case "critical", "fatal": return 3
        default: return nil
        }
    }

    /// `ts` as microseconds since the epoch: ISO 8601 (a time without offset is UTC), or epoch seconds,
    /// milliseconds, microseconds or nanoseconds, told apart by magnitude.
    static func timestamp(_ value: JSONValue) -> Result<Int64, TimestampError> {
        switch value {
        case .string(let text):
            if let micros = Timestamp.microseconds(iso8601: text, zoneRequired: false) { return .success(micros) }
            return .failure(TimestampError("ts '\(text.prefix(64))' is not an ISO 8601 time"))
        case .int, .double:
            guard let number = number(value), number >= 0 else {
                return .failure(TimestampError("ts must be a finite, positive number"))
            }
            let micros: Double =
                switch number {
                case ..<1e11: number * 1e6
                case ..<1e14: number * 1e3
                case ..<1e17: number
                default: number / 1e3
                }
            guard micros < 9e18 else { return .failure(TimestampError("ts is out of range")) }
            return .success(Int64(micros))
        default:
            return .failure(TimestampError("ts must be a string or a number, not \(value.typeDescription)"))
        }
    }

    /// Why a `ts` was refused.
    struct TimestampError: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }

    /// The first 16 bytes of SHA-256 over the parts, as a UUID.
    static func key(_ kind: String, _ topic: String, _ bytes: [UInt8], receivedAt: Int64?) -> UUID {
        // One buffer, hashed once: the same bytes as hashing the parts one after the other.
        var input: [UInt8] = []
        input.reserveCapacity(kind.utf8.count + topic.utf8.count + bytes.count + 10)
        input.append(contentsOf: kind.utf8)
        input.append(0)
        input.append(contentsOf: topic.utf8)
        input.append(0)
        input.append(contentsOf: bytes)
        if let receivedAt { withUnsafeBytes(of: receivedAt.littleEndian) { input.append(contentsOf: $0) } }
        var uuid: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        SHA256.hash(data: input).withUnsafeBytes { digest in
            withUnsafeMutableBytes(of: &uuid) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: digest[0..<16])) }
        }
        return UUID(uuid: uuid)
    }

    /// Whether `payload` holds the JSON escape of NUL (`\u0000`), which the stores cannot hold either.
    static func containsEscapedNUL(_ payload: [UInt8]) -> Bool {
        let pattern: [UInt8] = Array("\\u0000".utf8)
        guard payload.count >= pattern.count else { return false }
        for start in 0...(payload.count - pattern.count) where payload[start] == 0x5C {
            if payload[start..<(start + pattern.count)].elementsEqual(pattern) { return true }
        }
        return false
    }
}

extension MessageMapper.TimestampError: CustomStringConvertible {
    var description: String { reason }
}
