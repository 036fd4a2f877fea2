import DTPHTTP
import DTPModel
import Foundation

/// The registry's change stream (`GET /api/registry/events`) as an `AsyncSequence` of ``RegistryEvent``s.
///
/// It reconnects by itself when the stream breaks (the registry restarting, say) and resumes after the
/// last event it delivered with `Last-Event-ID`, so a consumer sees every event once, in id order. Pass the
/// id of the last event a consumer has durably handled as `since` to resume across restarts of the
/// consumer too. A 401 or 403 ends iteration with an error, since retrying cannot fix credentials.
public struct RegistryEventStream: AsyncSequence, Sendable {
    /// Each element is one committed change.
    public typealias Element = RegistryEvent

    private let sse: SSEClient

    init(sse: SSEClient) { self.sse = sse }

    /// Connects when first asked for an event.
    public func makeAsyncIterator() -> Iterator { Iterator(base: sse.makeAsyncIterator()) }

    /// Decodes each server-sent event.
    public struct Iterator: AsyncIteratorProtocol {
        private var base: SSEClient.Iterator

        init(base: SSEClient.Iterator) { self.base = base }

        /// The next change; throws ``RegistryClientError`` for an event that does not decode.
        public mutating func next() async throws -> RegistryEvent? {
            guard let event = try await base.next() else { return nil }
            return try RegistryEventStream.decode(event)
        }
    }

    /// The `data:` of an event: the event without its id, which the `id:` line carries.
    private struct EventData: Decodable {
        var type: RegistryEvent.EventType
        var tenant: String
        var payload: JSONValue
        var ts: Timestamp
        var actor: String?
    }

    static func decode(_ event: SSEEvent) throws(RegistryClientError) -> RegistryEvent {
        guard let id = Int64(event.id) else { throw .malformed("event without a numeric id: '\(event.id)'") }
        do {
            let data = try JSONDecoder().decode(EventData.self, from: Data(event.data.utf8))
            return RegistryEvent(
                id: id, tenant: data.tenant, type: data.type, payload: data.payload, ts: data.ts, actor: data.actor)
        } catch {
            throw .malformed("event \(id) does not decode: \(error)")
        }
    }
}

extension RegistryClient {
    /// The change stream after event `since` (0 replays the whole outbox; nil gives live events only), only one
    /// tenant's and only the given event types (`twin.update`, ...).
    public func events(
        since: Int64? = nil, tenant: String? = nil, types: [String] = [], retry: Duration = .seconds(1)
    ) -> RegistryEventStream {
        var query: [(String, String)] = []
        if let tenant { query.append(("tenant", tenant)) }
        if !types.isEmpty { query.append(("types", types.joined(separator: ","))) }
        var headers: HTTPHeaders = ["Accept": "text/event-stream"]
        if let token { headers.add(name: "Authorization", value: "Bearer \(token)") }
        let request = HTTPRequest(url: url("/api/registry/events", query: query), headers: headers)
        let sse = SSEClient(
            client: http, request: request, retry: retry, lastEventID: since.map(String.init) ?? "")
        return RegistryEventStream(sse: sse)
    }
}
