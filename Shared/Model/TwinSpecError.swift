/// A twin spec file that cannot be read as a document: I/O, size, encoding, YAML or JSON syntax, or a
/// document that is not a map. Field-level problems are `TwinValidationError`s.
public struct TwinSpecError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of problem this is; compare with the static members (`error.kind == .syntax`).
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case unreadable, notText, tooLarge, syntax, duplicateKey, aliasNotAllowed, tooDeep, tooManyNodes
            case empty, notAMapping, unsupportedFormat
        }

        private let base: Base

        /// The file could not be read.
        public static let unreadable = Kind(base: .unreadable)
        /// The bytes are not UTF-8 text.
        public static let notText = Kind(base: .notText)
        /// The document is over the size limit.
        public static let tooLarge = Kind(base: .tooLarge)
        /// YAML or JSON syntax error.
        public static let syntax = Kind(base: .syntax)
        /// A map has the same key twice.
        public static let duplicateKey = Kind(base: .duplicateKey)
        /// The YAML uses an alias (`*name`); aliases can blow a small file up exponentially.
        public static let aliasNotAllowed = Kind(base: .aliasNotAllowed)
        /// The document nests deeper than the limit.
        public static let tooDeep = Kind(base: .tooDeep)
        /// The document has more values than the limit.
        public static let tooManyNodes = Kind(base: .tooManyNodes)
        /// The document holds no value.
        public static let empty = Kind(base: .empty)
        /// The top-level value is not a map.
        public static let notAMapping = Kind(base: .notAMapping)
        /// The file name is not `*.yaml`, `*.yml` or `*.json`.
        public static let unsupportedFormat = Kind(base: .unsupportedFormat)

        /// The kind's name, e.g. `syntax`.
        public var description: String { base.rawValue }
    }

    /// What kind of problem this is.
    public let kind: Kind
    /// What is wrong, in words.
    public let message: String
    /// The file (name or path) the document came from, when known.
    public let file: String?
    /// The line of the problem, from 1, when known.
    public let line: Int?
    /// The column of the problem, from 1, when known.
    public let column: Int?

    /// An error of `kind` with a message and where it happened.
    public init(_ kind: Kind, _ message: String, file: String? = nil, line: Int? = nil, column: Int? = nil) {
        self.kind = kind
        self.message = message
        self.file = file
        self.line = line
        self.column = column
    }

    /// "file:line:column: message", leaving out what is unknown.
    public var description: String {
        SourceLocation.prefix(file: file, line: line, column: column) + message
    }
}

/// Formats "file:line:column: " prefixes the way compilers do, so editors can jump to them.
enum SourceLocation {
    static func prefix(file: String?, line: Int?, column: Int?) -> String {
        var parts: [String] = []
        if let file { parts.append(file) }
        if let line {
            parts.append(String(line))
            if let column { parts.append(String(column)) }
        }
        return parts.isEmpty ? "" : parts.joined(separator: ":") + ": "
    }
}
