import DTPHTTP
import DTPModel
import DTPServiceKit
import Foundation
import Logging
import ServiceLifecycle

/// Keeps the catalog's twins equal to the registry's: opens the change stream
/// (`GET /api/registry/events?types=twin.update,twin.delete`), then lists every twin, then applies each
/// event as it comes. No polling.
///
/// The stream is open (the registry has subscribed it, which it does before answering) before the listing
/// is read, so no change can fall between the two; an event older than the listing is recognised by the
/// twin's `version` and ignored. After a broken connection the stream resumes with `Last-Event-ID`, so
/// nothing is missed and nothing needs listing again.
struct RegistryWatcher: ServiceLifecycle.Service {
    let http: HTTPClient
    let baseURL: String
    let token: Secret
    let catalog: CatalogStore
    let logger: Logger

    private var authorization: HTTPHeaders { ["Authorization": "Bearer \(token.value)", "Accept": "application/json"] }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var versions: [String: Int] = [:]
            var lastEventID: String?
            var delay = Duration.milliseconds(250)
            while !Task.isCancelled {
                do {
                    var headers = authorization
                    headers.replaceOrAdd(name: "Accept", value: "text/event-stream")
                    if let lastEventID { headers.add(name: "Last-Event-ID", value: lastEventID) }
                    let request = HTTPRequest(
                        url: baseURL + "/api/registry/events?types=twin.update,twin.delete", headers: headers,
                        timeout: .unlimited)
                    let response = try await http.execute(streaming: request)
                    guard response.status == 200 else {
                        response.body.cancel()
                        throw WatchError("the change stream answered \(response.status)")
                    }
                    if lastEventID == nil {
                        let twins = try await listTwins()
                        versions = Dictionary(twins.map { ($0.id, $0.version) }, uniquingKeysWith: max)
                        let declared = twins.compactMap(DeclaredTwin.init)
                        catalog.update(markLoaded: true) { catalog in
                            catalog.twins = Dictionary(declared.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
                        }
                        lastEventID = ""
                        logger.info(
                            "registry twins loaded",
                            metadata: ["twins": "\(twins.count)", "declaring": "\(declared.count)"])
                    }
                    delay = .milliseconds(250)
                    var parser = SSEParser(lastEventID: lastEventID ?? "")
                    for try await chunk in response.body {
                        for event in parser.feed(chunk) {
                            apply(event, versions: &versions)
                            if !event.id.isEmpty { lastEventID = event.id }
                        }
                    }
                } catch {
                    if Task.isCancelled { break }
                    logger.warning("registry change stream failed; reconnecting", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(3))
            }
        }
    }

    /// Applies one `twin.update` or `twin.delete` event.
    private func apply(_ event: SSEEvent, versions: inout [String: Int]) {
        guard let data = try? JSONValue(jsonText: event.data), let payload = data["payload"] else { return }
        switch event.event {
        case "twin.update":
            guard let body = try? JSONEncoder().encode(payload), let twin = try? JSONDecoder().decode(Twin.self, from: body)
            else {
                logger.warning("twin.update event without a readable twin", metadata: ["id": "\(event.id)"])
                return
            }
            if let known = versions[twin.id], known >= twin.version { return }
            versions[twin.id] = twin.version
            let declared = DeclaredTwin(twin)
            catalog.update { catalog in catalog.twins[twin.id] = declared }
            logger.debug("twin changed", metadata: ["twin": "\(twin.id)", "streams": "\(declared?.filters ?? [])"])
        case "twin.delete":
            guard let id = payload["twin_id"]?.stringValue else { return }
            versions[id] = nil
            catalog.update { catalog in catalog.twins[id] = nil }
            logger.debug("twin deleted", metadata: ["twin": "\(id)"])
        default:
            return
        }
    }

    /// Every twin, following the listing's `Link: rel="next"` pages.
    private func listTwins() async throws -> [Twin] {
        var url: String? = baseURL + "/api/registry/twins?limit=500"
        var twins: [Twin] = []
        while let next = url {
            let response = try await http.execute(HTTPRequest(url: next, headers: authorization))
            guard response.status == 200 else { throw WatchError("listing twins answered \(response.status)") }
            guard case .array(let items) = try JSONValue(jsonText: response.bodyText) else {
                throw WatchError("listing twins did not answer an array")
            }
            for item in items {
                if let body = try? JSONEncoder().encode(item), let twin = try? JSONDecoder().decode(Twin.self, from: body) {
                    twins.append(twin)
                }
            }
            url = response.headers["Link"].lazy.compactMap(Self.nextLink).first.map { link in
                link.hasPrefix("/") ? Self.origin(of: baseURL) + link : link
            }
        }
        return twins
    }

    /// The target of a `Link` header's `rel="next"`.
    static func nextLink(_ header: String) -> String? {
        for part in header.split(separator: ",") where part.contains("rel=\"next\"") {
            guard let open = part.firstIndex(of: "<"), let close = part.firstIndex(of: ">") else { continue }
            return String(part[part.index(after: open)..<close])
        }
        return nil
    }

    static func origin(of url: String) -> String {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host
        else { return url }
        return "\(scheme)://\(host)" + (components.port.map { ":\($0)" } ?? "")
    }

    struct WatchError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
