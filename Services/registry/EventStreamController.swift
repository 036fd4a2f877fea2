import DTPServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// `GET /api/registry/events`: the outbox as Server-Sent Events.
///
/// `id:` is the outbox id, `event:` the type, `data:` `{"type", "tenant", "payload", "ts"}`. A client
/// that sends `Last-Event-ID` (or `?since=`) first gets every matching event after that id from the
/// table, then the live ones from the hub; events the two overlap on are sent once, by id.
struct EventStreamController: Sendable {
    let hub: EventHub
    let heartbeat: Duration

    static let types: Set<String> = [
        "twin.update", "twin.delete", "service.update", "service.delete", "relationship.update", "artifact.update",
    ]

    func addRoutes(to group: RouterGroup<RegistryContext>) {
        group.get("events", use: stream)
    }

    @Sendable func stream(_ request: Request, context: RegistryContext) async throws -> Response {
        let query = request.uri.queryParameters
        var filter = EventFilter(tenant: query["tenant"].map(String.init).flatMap { $0.isEmpty ? nil : $0 })
        if let list = query["types"], !list.isEmpty {
            let types = Set(list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            if let unknown = types.subtracting(Self.types).sorted().first {
                throw APIError.badRequest("types: unknown event type '\(unknown)'")
            }
            filter.types = types
        }
        var since: Int64?
        if let text = request.headers[.lastEventID] ?? query["since"].map(String.init), !text.isEmpty {
            guard let value = Int64(text), value >= 0 else {
                throw APIError.badRequest("Last-Event-ID/since: must be an event id")
            }
            since = value
        }
        let hub = self.hub
        let heartbeat = self.heartbeat
        let logger = context.logger
        // Subscribed before the response starts, so that nothing committed after the request arrived
        // can slip past a client that asked for live events only.
        let (id, cursor, stream) = hub.subscribe(filter)
        let replayFrom = since
        let replayFilter = filter
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache", .init("X-Accel-Buffering")!: "no"],
            body: ResponseBody { writer in
                let beats = Task {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: heartbeat)
                        hub.heartbeat(id)
                    }
                }
                defer {
                    beats.cancel()
                    hub.unsubscribe(id)
                }
                var last = replayFrom ?? cursor
                try await writer.write(ByteBuffer(string: "retry: 3000\n\n"))
                // Replay what the client missed up to where the hub stood when it subscribed; what follows
                // comes live from the hub, which has then also applied it to the twin cache, so a client
                // that saw an event here and reads the twin here sees that version or a newer one.
                if replayFrom != nil {
                    while last < cursor {
                        let records = try await EventHub.read(hub.pool, after: last, filter: replayFilter, limit: 1000)
                            .prefix { $0.id <= cursor }
                        if records.isEmpty { break }
                        try await writer.write(Self.frame(Array(records)))
                        last = records.last!.id
                        if records.count < 1000 { break }
                    }
                }
                for await item in stream {
                    switch item {
                    case .heartbeat:
                        try await writer.write(ByteBuffer(string: ": heartbeat\n\n"))
                    case .event(let record):
                        guard record.id > last else { continue }
                        try await writer.write(Self.frame([record]))
                        last = record.id
                    }
                }
                logger.debug("event stream ended", metadata: ["last_event_id": "\(last)"])
                try await writer.finish(nil)
            })
    }

    static func frame(_ records: [OutboxRecord]) -> ByteBuffer {
        var buffer = ByteBuffer()
        for record in records {
            buffer.writeString("id: \(record.id)\nevent: \(record.type)\ndata: \(record.data)\n\n")
        }
        return buffer
    }
}

extension HTTPField.Name {
    /// `Last-Event-ID`, sent by reconnecting SSE clients.
    static let lastEventID = HTTPField.Name("Last-Event-ID")!
}
