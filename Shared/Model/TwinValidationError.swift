/// A twin field with a missing, mistyped or invalid value, named by its path
/// (`interfaces.data_streams[1].topic`) and, when it came from a file, located in it.
public struct TwinValidationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of problem this is; compare with the static members (`error.kind == .wrongType`).
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case missing, wrongType, invalidValue, unknownKey
        }

        private let base: Base

        /// A required field is absent.
        public static let missing = Kind(base: .missing)
        /// The field holds a value of the wrong JSON/YAML type.
        public static let wrongType = Kind(base: .wrongType)
        /// The field has the right type but a value the rules reject.
        public static let invalidValue = Kind(base: .invalidValue)
        /// A map has a key that the spec does not define where unknown keys are not kept.
        public static let unknownKey = Kind(base: .unknownKey)

        /// The kind's name, e.g. `wrongType`.
        public var description: String { base.rawValue }
    }

    /// What kind of problem this is.
    public let kind: Kind
    /// The path of the field, e.g. `metadata.status` or `interfaces.data_streams[1].topic`.
    public let field: String
    /// What is wrong, in words.
    public let message: String
    /// The file the twin came from, when it came from one.
    public internal(set) var file: String?
    /// The line of the field in that file, from 1, when known.
    public internal(set) var line: Int?
    /// The column of the field in that file, from 1, when known.
    public internal(set) var column: Int?

    /// A problem with `field`, optionally located in a file.
    public init(
        _ kind: Kind, field: String, _ message: String, file: String? = nil, line: Int? = nil, column: Int? = nil
    ) {
        self.kind = kind
        self.field = field
        self.message = message
        self.file = file
        self.line = line
        self.column = column
    }

    /// "file:line:column: field: message", leaving out what is unknown.
    public var description: String {
        SourceLocation.prefix(file: file, line: line, column: column) + "\(field): \(message)"
    }

    func located(file: String?, at position: SourcePosition?) -> TwinValidationError {
        var copy = self
        copy.file = file ?? copy.file
        if let position, copy.line == nil {
            copy.line = position.line
            copy.column = position.column
        }
        return copy
    }
}
