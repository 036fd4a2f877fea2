import Foundation

/// Reads and writes twin spec files: `twin.yaml`, `twin.yml` and `twin.json`, including the earlier
/// system's files verbatim (unquoted `@id:` keys, `MQTT:topic` stream items).
///
/// Reading is defensive: a size limit, a nesting limit, a value-count limit and no YAML aliases, so a
/// hostile or broken file in the twins folder costs an error, never the process.
public struct TwinSpecCodec: Sendable {
    /// A spec file's syntax.
    public enum Format: String, Sendable, Hashable {
        /// YAML 1.1 (as the earlier system's PyYAML read it).
        case yaml
        /// JSON (RFC 8259).
        case json

        /// The format of a file name or path by its extension (`.yaml`, `.yml`, `.json`).
        public init?(fileName: String) {
            let name = fileName.lowercased()
            if name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
                self = .yaml
            } else if name.hasSuffix(".json") {
                self = .json
            } else {
                return nil
            }
        }
    }

    /// The file names that discovery looks for in a twin folder, in order of preference.
    public static let specFileNames = ["twin.yaml", "twin.yml", "twin.json"]

    /// Bytes allowed in a spec file; larger files are rejected before parsing.
    public var maxBytes: Int
    /// Nesting allowed (the top-level map is level 1).
    public var maxDepth: Int
    /// Values (scalars, lists and maps) allowed in one document.
    public var maxNodes: Int
    /// How to complete a spec after reading; `nil` returns it as written.
    public var normalization: TwinSpecNormalization?
    /// Whether reading also applies the twin rules (id, status, api URL, topics, ...).
    public var validates: Bool

    /// A codec with the given limits; by default it normalises like the earlier system and validates.
    public init(
        maxBytes: Int = 1 << 20, maxDepth: Int = 64, maxNodes: Int = 100_000,
        normalization: TwinSpecNormalization? = .earlierSystem, validates: Bool = true
    ) {
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
        self.maxNodes = maxNodes
        self.normalization = normalization
        self.validates = validates
    }

    /// Reads the spec file at `url`; the format comes from its extension and the folder name from its
    /// parent directory.
    /// - Throws: `TwinSpecError` for unreadable documents, `TwinValidationError` for bad fields.
    public func read(contentsOf url: URL) throws -> TwinSpec {
        let path = url.path
        let size: Int
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        } catch {
            throw TwinSpecError(.unreadable, "cannot read the file: \(error.localizedDescription)", file: path)
        }
        if size > maxBytes { throw tooLarge(size, file: path) }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw TwinSpecError(.unreadable, "cannot read the file: \(error.localizedDescription)", file: path)
        }
        return try decode(data, path: path)
    }

    /// Reads a spec from bytes. `path` (a file name or path) names the file in errors, gives the format by
    /// its extension unless `format` is given, and gives the folder name for normalisation.
    public func decode(_ data: Data, path: String, format: Format? = nil) throws -> TwinSpec {
        if data.count > maxBytes { throw tooLarge(data.count, file: path) }
        var bytes = data[...]
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw TwinSpecError(.notText, "the file is not UTF-8 text", file: path)
        }
        return try decode(text, path: path, format: format)
    }

    /// Reads a spec from text; see `decode(_:path:format:)` for `path`.
    public func decode(_ text: String, path: String, format: Format? = nil) throws -> TwinSpec {
        if text.utf8.count > maxBytes { throw tooLarge(text.utf8.count, file: path) }
        guard let format = format ?? Format(fileName: path) else {
            throw TwinSpecError(.unsupportedFormat, "expected a .yaml, .yml or .json file", file: path)
        }
        let root = try parse(text, format: format, file: path)
        guard case .object = root.value else {
            throw TwinSpecError(
                .notAMapping, "a twin spec must be a map of fields, not \(root.typeDescription)", file: path,
                line: root.position?.line, column: root.position?.column)
        }
        let positions = TwinSpecDecoding.positions(of: root)
        var spec: TwinSpec
        do {
            spec = try TwinSpec(node: root)
        } catch {
            throw error.located(file: path, at: nil)
        }
        if let normalization {
            spec = spec.normalized(normalization, folderName: Self.folderName(of: path))
        }
        if validates, let problem = spec.validationProblems().first {
            throw problem.located(file: path, at: TwinSpecDecoding.position(of: problem.field, in: positions))
        }
        return spec
    }

    /// The name of the folder that holds the file at `path`, if the path has one.
    public static func folderName(of path: String) -> String? {
        let components = path.split(separator: "/").map(String.init)
        return components.count >= 2 ? components[components.count - 2] : nil
    }

    private func parse(_ text: String, format: Format, file: String) throws -> SpecNode {
        switch format {
        case .yaml:
            let reader = YAMLReader(maxDepth: maxDepth, maxNodes: maxNodes)
            guard let root = try reader.read(text, file: file) else {
                throw TwinSpecError(.empty, "the document is empty", file: file)
            }
            return root
        case .json:
            if text.allSatisfy(\.isWhitespace) { throw TwinSpecError(.empty, "the document is empty", file: file) }
            var parser = JSONTextParser(text: text, maxDepth: maxDepth)
            do {
                return try parser.parseDocument()
            } catch {
                let kind: TwinSpecError.Kind =
                    error.message.hasPrefix("duplicate key")
                    ? .duplicateKey
                    : error.message.hasPrefix("nesting deeper") ? .tooDeep : .syntax
                throw TwinSpecError(
                    kind, "JSON syntax error: \(error.message)", file: file, line: error.line, column: error.column)
            }
        }
    }

    private func tooLarge(_ size: Int, file: String) -> TwinSpecError {
        TwinSpecError(.tooLarge, "the file has \(size) bytes; at most \(maxBytes) are allowed", file: file)
    }
}
