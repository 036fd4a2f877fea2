import Yams

extension TwinSpecCodec {
    /// The spec as YAML: `"@id"` (quoted, as plain YAML requires), `name`, `tenant`, `metadata`,
    /// `interfaces`, `dependencies`, then other keys; nested keys sorted. Reading it back gives an equal spec.
    /// - Throws: `EncodingError.invalidValue` for NaN or infinite numbers in the spec.
    public func encodeYAML(_ spec: TwinSpec) throws -> String {
        guard case .object(var members) = spec.jsonValue else { return "" }
        var pairs: [(Node, Node)] = []
        for key in ["@id", "name", "tenant", "metadata", "interfaces", "dependencies"] {
            guard let value = members.removeValue(forKey: key) else { continue }
            let keyNode =
                key == "@id" ? Node.scalar(.init(key, Tag(.str), .doubleQuoted)) : YAMLWriting.stringNode(key)
            pairs.append((keyNode, try YAMLWriting.node(value)))
        }
        for key in members.keys.sorted() {
            pairs.append((YAMLWriting.stringNode(key), try YAMLWriting.node(members[key]!)))
        }
        return try Yams.serialize(node: Node.mapping(.init(pairs)), width: -1, allowUnicode: true)
    }

    /// The spec as pretty-printed JSON with sorted keys (`@id` first).
    /// - Throws: `EncodingError.invalidValue` for NaN or infinite numbers in the spec.
    public func encodeJSON(_ spec: TwinSpec) throws -> String {
        try spec.jsonValue.jsonText(prettyPrinted: true) + "\n"
    }
}

/// JSON values as Yams nodes whose scalars read back as the same type.
enum YAMLWriting {
    static func node(_ value: JSONValue) throws -> Node {
        switch value {
        case .null: return .scalar(.init("null", Tag(.null), .plain))
        case .bool(let bool): return .scalar(.init(bool ? "true" : "false", Tag(.bool), .plain))
        case .int(let int): return .scalar(.init(String(int), Tag(.int), .plain))
        case .double(let double): return .scalar(.init(try JSONValue.formatDouble(double), Tag(.float), .plain))
        case .string(let string): return stringNode(string)
        case .array(let elements): return .sequence(.init(try elements.map(node)))
        case .object(let members):
            return .mapping(.init(try members.keys.sorted().map { (stringNode($0), try node(members[$0]!)) }))
        }
    }

    /// A string scalar, quoted when a plain scalar would read back as something else (`"true"`, `"1"`,
    /// `"null"`, `"2024-01-01"`); libyaml quotes whatever else plain style cannot hold.
    static func stringNode(_ string: String) -> Node {
        let resolved = Node(string).tag.rawValue
        let style: Node.Scalar.Style = resolved == Tag.Name.str.rawValue ? .any : .doubleQuoted
        return .scalar(.init(string, Tag(.str), style))
    }
}
