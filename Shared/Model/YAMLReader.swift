import Yams

/// Reads YAML text into a `SpecNode` tree through Yams, with the twin spec's safety limits.
struct YAMLReader {
    var maxDepth: Int
    var maxNodes: Int

    func read(_ text: String, file: String?) throws -> SpecNode? {
        let prescan = try YAMLPrescan(text, file: file)
        let root: Node?
        do {
            // An explicit encoding: the default one reads the whole process environment on every call.
            root = try Yams.compose(yaml: prescan.text, .default, .default, .utf8)
        } catch let error as YamlError {
            throw Self.specError(from: error, prescan: prescan, file: file)
        }
        guard let root else { return nil }
        var walk = Walk(prescan: prescan, file: file, maxDepth: maxDepth, maxNodes: maxNodes)
        return try walk.convert(root, depth: 1)
    }

    private static func specError(from error: YamlError, prescan: YAMLPrescan, file: String?) -> TwinSpecError {
        func located(_ kind: TwinSpecError.Kind, _ message: String, _ mark: Mark) -> TwinSpecError {
            let position = prescan.originalPosition(line: mark.line, column: mark.column)
            return TwinSpecError(kind, message, file: file, line: position.line, column: position.column)
        }
        func describe(_ problem: String, _ context: YamlError.Context?) -> String {
            guard let context else { return "YAML syntax error: \(problem)" }
            return "YAML syntax error: \(problem) (\(context.text) at line \(context.mark.line))"
        }
        switch error {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            return located(.syntax, describe(problem, context), mark)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return located(.duplicateKey, "duplicate key \(keys) in a map", context.mark)
        case .reader(let problem, let offset, _, let yaml):
            var line: Int?
            var column: Int?
            if let offset {
                let prefix = yaml.prefix(offset)
                line = prefix.count(where: { $0 == "\n" }) + 1
                column = prefix.reversed().prefix(while: { $0 != "\n" }).count + 1
            }
            return TwinSpecError(.notText, "unreadable YAML text: \(problem)", file: file, line: line, column: column)
        case .dataCouldNotBeDecoded:
            return TwinSpecError(.notText, "the document is not UTF-8 text", file: file)
        case .memory, .no, .writer, .emitter, .representer:
            return TwinSpecError(.syntax, "YAML error: \(error)", file: file)
        }
    }
}

extension YAMLReader {
    /// One conversion of a composed tree, counting nodes and watching for reused anchors.
    private struct Walk {
        let prescan: YAMLPrescan
        let file: String?
        let maxDepth: Int
        let maxNodes: Int
        var nodeCount = 0
        var anchors: Set<String> = []

        private func position(_ mark: Mark?) -> SourcePosition? {
            mark.map { prescan.originalPosition(line: $0.line, column: $0.column) }
        }

        private func failure(_ kind: TwinSpecError.Kind, _ message: String, _ mark: Mark?) -> TwinSpecError {
            let position = position(mark)
            return TwinSpecError(kind, message, file: file, line: position?.line, column: position?.column)
        }

        mutating func convert(_ node: Node, depth: Int) throws(TwinSpecError) -> SpecNode {
            nodeCount += 1
            guard nodeCount <= maxNodes else {
                throw failure(.tooManyNodes, "the document has more than \(maxNodes) values", node.mark)
            }
            guard depth <= maxDepth else {
                throw failure(.tooDeep, "the document nests deeper than \(maxDepth) levels", node.mark)
            }
            if let anchor = node.anchor?.rawValue {
                // Yams hands an alias out as the anchored node itself: a second sighting is an alias.
                guard anchors.insert(anchor).inserted else {
                    throw failure(
                        .aliasNotAllowed, "YAML aliases (*\(anchor)) are not allowed in twin specs", node.mark)
                }
            }
            let at = position(node.mark)
            switch node {
            case .scalar(let scalar):
                return SpecNode(Self.value(of: scalar, node: node), at: at)
            case .sequence(let sequence):
                var elements: [SpecNode] = []
                elements.reserveCapacity(sequence.count)
                for element in sequence { elements.append(try convert(element, depth: depth + 1)) }
                return SpecNode(.array(elements), at: at)
            case .mapping(let mapping):
                var members: [SpecNode.Member] = []
                members.reserveCapacity(mapping.count)
                var seen: Set<String> = []
                for (keyNode, valueNode) in mapping {
                    guard case .scalar(let keyScalar) = keyNode else {
                        throw failure(.syntax, "map keys must be plain values, not lists or maps", keyNode.mark)
                    }
                    guard seen.insert(keyScalar.string).inserted else {
                        throw failure(.duplicateKey, "duplicate key '\(keyScalar.string)' in a map", keyNode.mark)
                    }
                    let value = try convert(valueNode, depth: depth + 1)
                    members.append(
                        SpecNode.Member(key: keyScalar.string, keyPosition: position(keyNode.mark), value: value))
                }
                return SpecNode(.object(members), at: at)
            case .alias:
                throw failure(.aliasNotAllowed, "YAML aliases are not allowed in twin specs", node.mark)
            }
        }

        /// The JSON value of a scalar under YAML 1.1 resolution (as the earlier system's PyYAML read it);
        /// timestamps and binary stay the text they were written as.
        private static func value(of scalar: Node.Scalar, node: Node) -> SpecNode.Value {
            switch node.tag.rawValue {
            case Tag.Name.null.rawValue:
                return .null
            case Tag.Name.bool.rawValue:
                return node.bool.map(SpecNode.Value.bool) ?? .string(scalar.string)
            case Tag.Name.int.rawValue:
                if let int = node.int { return .int(int) }
                if let double = node.float { return .double(double) }
                return .string(scalar.string)
            case Tag.Name.float.rawValue:
                return node.float.map(SpecNode.Value.double) ?? .string(scalar.string)
            default:
                return .string(scalar.string)
            }
        }
    }
}
