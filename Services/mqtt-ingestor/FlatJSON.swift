import DTPModel

/// The mapper's fast path: scans a payload that is one flat JSON object of plain ASCII (no escapes, no
/// nested objects or arrays, no repeated keys), as nearly every telemetry message is, straight into its
/// members.
///
/// Anything else returns nil and goes through the full parser (``JSONValue/init(jsonText:maxDepth:)``),
/// which also words the rejections; so a payload the fast path accepts maps exactly as the full parser
/// would map it. Numbers follow the same rules: an integer that fits `Int` is `.int`, any other finite
/// number `.double`.
enum FlatJSON {
    /// The members of `payload`, or nil when it is not a flat object of plain ASCII.
    static func object(_ payload: [UInt8]) -> PayloadMembers? {
        payload.withUnsafeBufferPointer { bytes in
            var scanner = Scanner(bytes: bytes)
            return scanner.object()
        }
    }

    private struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        mutating func object() -> PayloadMembers? {
            // Printable ASCII and JSON whitespace only: valid UTF-8, no NUL, no escapes to decode.
            for byte in bytes {
                guard (0x20...0x7E).contains(byte) || byte == 0x09 || byte == 0x0A || byte == 0x0D, byte != 0x5C
                else { return nil }
            }
            skipSpace()
            guard take(0x7B) else { return nil }
            var members: [(key: String, value: JSONValue)] = []
            // Names seen, once there are too many to compare with each other.
            var names: Set<String> = []
            skipSpace()
            if take(0x7D) { return nil }  // `{}`: the full path rejects it
            while true {
                skipSpace()
                guard let key = string() else { return nil }
                skipSpace()
                guard take(0x3A) else { return nil }
                skipSpace()
                guard let value = value() else { return nil }
                if members.count < PayloadMembers.scanLimit {
                    for member in members where member.key == key { return nil }
                } else {
                    if names.isEmpty { names = Set(members.map(\.key)) }
                    guard names.insert(key).inserted else { return nil }
                }
                members.append((key, value))
                skipSpace()
                if take(0x2C) { continue }
                guard take(0x7D) else { return nil }
                break
            }
            skipSpace()
            return index == bytes.count ? PayloadMembers(pairs: members) : nil
        }

        private mutating func value() -> JSONValue? {
            guard index < bytes.count else { return nil }
            switch bytes[index] {
            case 0x22: return string().map { .string($0) }
            case 0x74: return literal("true") ? .bool(true) : nil
            case 0x66: return literal("false") ? .bool(false) : nil
            case 0x6E: return literal("null") ? .null : nil
            case 0x2D, 0x30...0x39: return number()
            default: return nil  // objects, arrays and anything invalid
            }
        }

        /// A string without escapes (the payload has no backslash).
        private mutating func string() -> String? {
            guard take(0x22) else { return nil }
            let start = index
            while index < bytes.count, bytes[index] != 0x22 {
                // A raw tab or line break is not allowed inside a JSON string.
                if bytes[index] < 0x20 { return nil }
                index += 1
            }
            guard index < bytes.count else { return nil }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            index += 1
            return text
        }

        /// A number by JSON's grammar, converted as ``JSONValue``'s parser converts it.
        private mutating func number() -> JSONValue? {
            let start = index
            var isInteger = true
            _ = take(0x2D)
            guard index < bytes.count, isDigit(bytes[index]) else { return nil }
            if bytes[index] == 0x30 {
                index += 1
                if index < bytes.count, isDigit(bytes[index]) { return nil }
            } else {
                skipDigits()
            }
            if take(0x2E) {
                isInteger = false
                guard index < bytes.count, isDigit(bytes[index]) else { return nil }
                skipDigits()
            }
            if index < bytes.count, bytes[index] == 0x65 || bytes[index] == 0x45 {
                isInteger = false
                index += 1
                if index < bytes.count, bytes[index] == 0x2B || bytes[index] == 0x2D { index += 1 }
                guard index < bytes.count, isDigit(bytes[index]) else { return nil }
                skipDigits()
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            if isInteger, let int = Int(text) { return .int(int) }
            guard let double = Double(text), double.isFinite else { return nil }
            return .double(double)
        }

        private mutating func literal(_ word: StaticString) -> Bool {
            let count = word.utf8CodeUnitCount
            guard index + count <= bytes.count else { return false }
            for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { return false }
            index += count
            return true
        }

        private mutating func take(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        private mutating func skipSpace() {
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 || bytes[index] == 0x0A
                || bytes[index] == 0x0D
            {
                index += 1
            }
        }

        private mutating func skipDigits() {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }

        private func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
    }
}
