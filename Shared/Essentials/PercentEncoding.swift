/// Percent-encoding without Foundation's `CharacterSet` (see ``Swift/StringProtocol/trimmingWhitespace()``
/// for why).
extension StringProtocol {
    /// The UTF-8 bytes of the text, with every byte outside RFC 3986's unreserved set
    /// (`A-Z a-z 0-9 - . _ ~`) and `alsoAllowed` written as `%XX`.
    package func percentEncoded(alsoAllowed: Set<UInt8> = []) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(utf8.count)
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in utf8 {
            if byte.isUnreserved || alsoAllowed.contains(byte) {
                output.append(byte)
            } else {
                output += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: output, as: UTF8.self)
    }
}

extension UInt8 {
    fileprivate var isUnreserved: Bool {
        switch self {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "~"):
            true
        default: false
        }
    }
}
