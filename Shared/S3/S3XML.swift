import Foundation

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// Reads S3's XML answers into flat element paths: enough for `Error` and `ListBucketResult`, whose
/// values are leaf text under known parents.
final class S3XMLReader: NSObject, XMLParserDelegate {
    /// Each leaf's path (e.g. `ListBucketResult/Contents/Key`) and text, in document order, with a
    /// marker when an element starts, so repeated groups (`Contents`) can be told apart.
    enum Event { case start(String), leaf(path: String, text: String) }

    private var stack: [String] = []
    private var text = ""
    private(set) var events: [Event] = []

    static func read(_ data: Data) -> [Event]? {
        let parser = XMLParser(data: data)
        let reader = S3XMLReader()
        parser.delegate = reader
        guard parser.parse() else { return nil }
        return reader.events
    }

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        stack.append(elementName)
        text = ""
        events.append(.start(stack.joined(separator: "/")))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        text += string
    }

    func parser(
        _ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?
    ) {
        if case .start(let path)? = events.last, path == stack.joined(separator: "/") {
            events.append(.leaf(path: path, text: text))
        }
        stack.removeLast()
        text = ""
    }
}

/// S3's `<Error>` body.
struct S3ErrorBody {
    var code: String?
    var message: String?
    var requestID: String?
    var resource: String?

    init?(_ data: Data) {
        guard !data.isEmpty, let events = S3XMLReader.read(data) else { return nil }
        for case .leaf(let path, let text) in events {
            switch path {
            case "Error/Code": code = text
            case "Error/Message": message = text
            case "Error/RequestId": requestID = text
            case "Error/Resource", "Error/Key", "Error/BucketName": resource = resource ?? text
            default: break
            }
        }
        guard code != nil || message != nil else { return nil }
    }
}
