/// A line and column in a source document, both counted from 1 (columns in Unicode scalars).
struct SourcePosition: Hashable, Sendable {
    var line: Int
    var column: Int
}

/// A parsed YAML or JSON value that remembers where it was written, so field errors can name a line.
///
/// Both readers (Yams' composed nodes and the JSON parser) produce this tree; the twin spec decoder reads
/// only this, so YAML and JSON files give the same errors.
struct SpecNode: Sendable {
    /// One member of a map, in document order.
    struct Member: Sendable {
        var key: String
        var keyPosition: SourcePosition?
        var value: SpecNode
    }

    enum Value: Sendable {
        case null
        case bool(Bool)
        case int(Int)
        case double(Double)
        case string(String)
        case array([SpecNode])
        case object([Member])
    }

    var value: Value
    var position: SourcePosition?

    init(_ value: Value, at position: SourcePosition? = nil) {
        self.value = value
        self.position = position
    }

    /// The node for a value that came from no document (API input), without positions.
    init(_ json: JSONValue) {
        switch json {
        case .null: value = .null
        case .bool(let bool): value = .bool(bool)
        case .int(let int): value = .int(int)
        case .double(let double): value = .double(double)
        case .string(let string): value = .string(string)
        case .array(let elements): value = .array(elements.map(SpecNode.init))
        case .object(let members):
            value = .object(
                members.keys.sorted().map { Member(key: $0, keyPosition: nil, value: SpecNode(members[$0]!)) })
        }
        position = nil
    }

    /// The member named `key`, when this is a map.
    subscript(key: String) -> SpecNode? {
        guard case .object(let members) = value else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// The plain JSON value, dropping positions.
    var json: JSONValue {
        switch value {
        case .null: return .null
        case .bool(let bool): return .bool(bool)
        case .int(let int): return .int(int)
        case .double(let double): return .double(double)
        case .string(let string): return .string(string)
        case .array(let elements): return .array(elements.map(\.json))
        case .object(let members):
            var object: [String: JSONValue] = [:]
            object.reserveCapacity(members.count)
            for member in members { object[member.key] = member.value.json }
            return .object(object)
        }
    }

    /// A short name of the node's type, for error messages.
    var typeDescription: String {
        switch value {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int, .double: return "a number"
        case .string: return "a string"
        case .array: return "a list"
        case .object: return "a map"
        }
    }
}
