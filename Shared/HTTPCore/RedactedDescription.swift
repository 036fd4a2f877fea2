/// The method and URL of a request for error messages and logs, without user info, query or fragment,
/// which may hold credentials or signatures.
package func redactedDescription(method: HTTPMethod, url: String) -> String {
    var text = url
    if let end = text.firstIndex(where: { $0 == "?" || $0 == "#" }) { text = String(text[..<end]) }
    if let schemeEnd = text.firstRange(of: "://") {
        let rest = text[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        if let at = rest[..<authorityEnd].lastIndex(of: "@") {
            text = String(text[..<schemeEnd.upperBound]) + String(rest[rest.index(after: at)...])
        }
    }
    return "\(method) \(text)"
}
