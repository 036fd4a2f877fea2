#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Where a plain-HTTP request goes, from its absolute URL: host, port, the `Host` header, the request
/// target (path and query, fragment dropped) and Basic credentials from user info, parsed without
/// Foundation.
struct RequestTarget: Sendable, Equatable {
    struct Invalid: Error {
        let message: String
    }

    var host: String
    var port: Int
    var hostHeader: String
    var pathAndQuery: String
    var basicAuthorization: String?

    init(url: String) throws(Invalid) {
        let lowered = url.lowercased()
        if lowered.hasPrefix("https://") {
            throw Invalid(message: "https is not supported by this client; use a TLS-terminating proxy")
        }
        guard lowered.hasPrefix("http://") else { throw Invalid(message: "not an http:// URL") }
        var rest = url.dropFirst("http://".count)
        if let fragment = rest.firstIndex(of: "#") { rest = rest[..<fragment] }
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        let target = rest[authorityEnd...]
        pathAndQuery = target.isEmpty ? "/" : target.hasPrefix("?") ? "/" + target : String(target)
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            basicAuthorization = "Basic " + Data(Self.percentDecoded(userInfo).utf8).base64EncodedString()
            authority = authority[authority.index(after: at)...]
        }
        hostHeader = String(authority)
        var portText: Substring? = nil
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw Invalid(message: "unclosed IPv6 literal") }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty {
                throw Invalid(message: "unexpected text after the IPv6 literal")
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            portText = authority[authority.index(after: colon)...]
        } else {
            host = String(authority)
        }
        guard !host.isEmpty else { throw Invalid(message: "no host") }
        if let portText {
            guard let number = Int(portText), (1...65535).contains(number) else {
                throw Invalid(message: "bad port '\(portText)'")
            }
            port = number
        } else {
            port = 80
        }
    }

    /// `%XX` sequences of user info as bytes (a password may hold `@` or `:` only in this form).
    private static func percentDecoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
