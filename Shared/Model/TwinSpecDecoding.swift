/// Reading twin fields out of positioned nodes; every error names the field and, when the node has a
/// position, its line and column.
enum TwinSpecDecoding {
    static func fail(
        _ kind: TwinValidationError.Kind, _ field: String, _ message: String, _ node: SpecNode?
    ) -> TwinValidationError {
        TwinValidationError(kind, field: field, message).located(file: nil, at: node?.position)
    }

    static func wrongType(_ field: String, expected: String, _ node: SpecNode) -> TwinValidationError {
        fail(.wrongType, field, "must be \(expected), not \(node.typeDescription)", node)
    }

    /// Any JSON value; NaN and infinities (which YAML can spell) have no JSON form.
    static func json(_ node: SpecNode, field: String) throws(TwinValidationError) -> JSONValue {
        switch node.value {
        case .double(let double) where !double.isFinite:
            throw fail(.invalidValue, field, "numbers must be finite, not \(double)", node)
        case .array(let elements):
            var values: [JSONValue] = []
            values.reserveCapacity(elements.count)
            for (index, element) in elements.enumerated() {
                values.append(try json(element, field: "\(field)[\(index)]"))
            }
            return .array(values)
        case .object(let members):
            var object: [String: JSONValue] = [:]
            for member in members { object[member.key] = try json(member.value, field: "\(field).\(member.key)") }
            return .object(object)
        default:
            return node.json
        }
    }

    static func object(_ node: SpecNode, field: String) throws(TwinValidationError) -> [String: JSONValue] {
        guard case .object = node.value else { throw wrongType(field, expected: "a map", node) }
        guard case .object(let object) = try json(node, field: field) else { return [:] }
        return object
    }

    static func string(_ node: SpecNode, field: String) throws(TwinValidationError) -> String {
        guard case .string(let text) = node.value else { throw wrongType(field, expected: "a string", node) }
        return text
    }

    /// A string, or `nil` for an explicit `null`.
    static func optionalString(_ node: SpecNode, field: String) throws(TwinValidationError) -> String? {
        if case .null = node.value { return nil }
        return try string(node, field: field)
    }

    static func stringList(_ node: SpecNode, field: String) throws(TwinValidationError) -> [String] {
        guard case .array(let elements) = node.value else {
            throw wrongType(field, expected: "a list of strings", node)
        }
        var strings: [String] = []
        for (index, element) in elements.enumerated() {
            strings.append(try string(element, field: "\(field)[\(index)]"))
        }
        return strings
    }

    /// The position of every value under `node`, by field path (`interfaces.data_streams[1].topic`).
    static func positions(of node: SpecNode) -> [String: SourcePosition] {
        var positions: [String: SourcePosition] = [:]
        func visit(_ node: SpecNode, _ path: String) {
            if let position = node.position { positions[path] = position }
            switch node.value {
            case .array(let elements):
                for (index, element) in elements.enumerated() { visit(element, "\(path)[\(index)]") }
            case .object(let members):
                for member in members { visit(member.value, path.isEmpty ? member.key : "\(path).\(member.key)") }
            default:
                break
            }
        }
        visit(node, "")
        if positions["@id"] == nil { positions["@id"] = positions["twin_id"] }
        return positions
    }

    /// The position of `field` or, failing that, of the nearest enclosing field.
    static func position(of field: String, in positions: [String: SourcePosition]) -> SourcePosition? {
        var path = Substring(field)
        while !path.isEmpty {
            if let position = positions[String(path)] { return position }
            guard let cut = path.lastIndex(where: { $0 == "." || $0 == "[" }) else { break }
            path = path[..<cut]
        }
        return positions[""]
    }
}
