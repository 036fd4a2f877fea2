/// A single pass over YAML text before Yams sees it.
///
/// It does two things Yams cannot do for us:
/// - quotes a key that starts with `@` at the start of a line (`@id:` becomes `"@id":`): the earlier system
///   wrote such keys unquoted, which YAML reserves, and the rewrite keeps every line number;
/// - rejects aliases (`*name`). Yams expands an alias by sharing the anchored node, but hashing an alias used
///   as a map key, or walking the tree, costs time and memory exponential in the number of aliases (the
///   "billion laughs"). Twin specs have no need for them.
///
/// The scan is lexical and conservative: it tracks quoted scalars, comments, flow collections, block
/// scalars and plain scalars well enough that `*` inside a string or a plain value is not mistaken for an
/// alias.
struct YAMLPrescan {
    /// Where a line was rewritten, so positions that Yams reports can be mapped back to the original text.
    struct Rewrite: Sendable {
        /// The 1-based column of the `@` in the original line.
        var atColumn: Int
        /// The number of characters of the key, `@` included.
        var keyLength: Int
    }

    /// The text to hand to Yams.
    private(set) var text: String
    /// Rewritten lines by 1-based line number.
    private(set) var rewrites: [Int: Rewrite] = [:]

    /// Prepares `original`, throwing `TwinSpecError.Kind.aliasNotAllowed` at the first alias.
    init(_ original: String, file: String?) throws(TwinSpecError) {
        var lines = original.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var scanner = Scanner()
        for index in lines.indices {
            let lineNumber = index + 1
            if scanner.canStartKey, let (rewritten, rewrite) = Self.quoteAtKey(lines[index]) {
                lines[index] = rewritten
                rewrites[lineNumber] = rewrite
            }
            if let column = scanner.scan(line: lines[index]) {
                throw TwinSpecError(
                    .aliasNotAllowed, "YAML aliases (*name) are not allowed in twin specs",
                    file: file, line: lineNumber, column: Self.originalColumn(column, rewrites[lineNumber]))
            }
        }
        text = lines.joined(separator: "\n")
    }

    /// Maps a column in the rewritten text back to the original text.
    func originalPosition(line: Int, column: Int) -> SourcePosition {
        SourcePosition(line: line, column: Self.originalColumn(column, rewrites[line]))
    }

    private static func originalColumn(_ column: Int, _ rewrite: Rewrite?) -> Int {
        guard let rewrite else { return column }
        if column <= rewrite.atColumn { return column }
        if column <= rewrite.atColumn + rewrite.keyLength + 1 { return column - 1 }
        return column - 2
    }

    /// `@key:` after indentation and `- ` markers, followed by a space or the end of the line.
    private static func quoteAtKey(_ line: String) -> (String, Rewrite)? {
        let scalars = Array(line.unicodeScalars)
        var index = 0
        while index < scalars.count {
            if scalars[index] == " " {
                index += 1
            } else if scalars[index] == "-", index + 1 < scalars.count, scalars[index + 1] == " " {
                index += 2
            } else {
                break
            }
        }
        guard index < scalars.count, scalars[index] == "@" else { return nil }
        var end = index + 1
        while end < scalars.count, isKeyScalar(scalars[end]) { end += 1 }
        guard end > index + 1 else { return nil }
        var colon = end
        while colon < scalars.count, scalars[colon] == " " { colon += 1 }
        guard colon < scalars.count, scalars[colon] == ":" else { return nil }
        guard colon + 1 == scalars.count || [" ", "\r", "\t"].contains(scalars[colon + 1]) else { return nil }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[0..<index])
        view.append("\"")
        view.append(contentsOf: scalars[index..<end])
        view.append("\"")
        view.append(contentsOf: scalars[end...])
        return (String(view), Rewrite(atColumn: index + 1, keyLength: end - index))
    }

    private static func isKeyScalar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "_", "-", ".": return true
        default: return false
        }
    }
}

extension YAMLPrescan {
    /// The lexical state carried from line to line.
    private struct Scanner {
        private enum Quote { case single, double }

        private var quote: Quote?
        private var flowDepth = 0
        private var blockScalarParentIndent: Int?
        private var atNodeStart = true

        /// Whether the next line starts outside quotes, flow collections and block scalars.
        var canStartKey: Bool { quote == nil && flowDepth == 0 && blockScalarParentIndent == nil }

        /// Scans one line; returns the 1-based column of an alias, if the line has one.
        mutating func scan(line: String) -> Int? {
            let scalars = Array(line.unicodeScalars)
            let indent = scalars.prefix(while: { $0 == " " }).count
            if let parent = blockScalarParentIndent {
                let blank = scalars.allSatisfy { $0 == " " || $0 == "\t" || $0 == "\r" }
                if blank || indent > parent { return nil }
                blockScalarParentIndent = nil
            }
            if quote == nil, flowDepth == 0 { atNodeStart = true }
            var index = 0
            var skippingToken = false
            func next(_ offset: Int = 1) -> Unicode.Scalar? {
                index + offset < scalars.count ? scalars[index + offset] : nil
            }
            func isBreak(_ scalar: Unicode.Scalar?) -> Bool {
                scalar == nil || scalar == " " || scalar == "\t" || scalar == "\r"
            }
            while index < scalars.count {
                defer { index += 1 }
                let scalar = scalars[index]
                switch quote {
                case .double:
                    if scalar == "\\" {
                        index += 1
                    } else if scalar == "\"" {
                        quote = nil
                    }
                    continue
                case .single:
                    if scalar == "'" {
                        if next() == "'" { index += 1 } else { quote = nil }
                    }
                    continue
                case nil:
                    break
                }
                let afterSpace = index == 0 || scalars[index - 1] == " " || scalars[index - 1] == "\t"
                if scalar == "#", afterSpace { return nil }
                if scalar == " " || scalar == "\t" || scalar == "\r" {
                    skippingToken = false
                    continue
                }
                if skippingToken { continue }
                if atNodeStart {
                    switch scalar {
                    case "*":
                        return index + 1
                    case "&", "!":
                        skippingToken = true
                    case "\"":
                        quote = .double
                        atNodeStart = false
                    case "'":
                        quote = .single
                        atNodeStart = false
                    case "[", "{":
                        flowDepth += 1
                    case "]", "}":
                        flowDepth = max(0, flowDepth - 1)
                        atNodeStart = false
                    case ",":
                        break
                    case "-", "?", ":":
                        if !isBreak(next()) && !(flowDepth > 0 && scalar == ":") { atNodeStart = false }
                    case "|", ">":
                        if flowDepth == 0 {
                            blockScalarParentIndent = indent
                            return nil
                        }
                        atNodeStart = false
                    default:
                        atNodeStart = false
                    }
                    continue
                }
                // Inside a plain scalar, or after a quoted scalar or a closed collection.
                if scalar == ":", isBreak(next()) || (flowDepth > 0 && [",", "]", "}"].contains(next())) {
                    atNodeStart = true
                } else if flowDepth > 0 {
                    switch scalar {
                    case ",": atNodeStart = true
                    case "]", "}": flowDepth = max(0, flowDepth - 1)
                    case "[", "{":
                        flowDepth += 1
                        atNodeStart = true
                    default: break
                    }
                }
            }
            return nil
        }
    }
}
