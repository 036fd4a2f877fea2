import DTPModel
import DTPServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// `GET /api/portal/stream?tenant=`: the portal's live events as Server-Sent Events.
///
/// Authenticated by an `Authorization` header, the HttpOnly session cookie, or a one-time `?ticket=` from
/// `POST /api/portal/stream-ticket`; an access token in the URL is never accepted. Every event carries an
/// `id:`; a reconnect with `Last-Event-ID` gets the events it missed, or a `reset` event when they are no
/// longer held. Events are filtered by the stream's tenant and the user's grants, both when queued and
/// when written, so a grant revoked while the stream is open stops that twin's events at once.
struct PortalStreamController: Sendable {
    let hub: PortalHub
    let tickets: StreamTickets
    let tokens: TokenIssuer

    func addRoutes(to router: Router<GatewayContext>) {
        router.get("api/portal/stream", use: stream)
    }

    @Sendable func stream(_ request: Request, context: GatewayContext) async throws -> Response {
        let query = request.uri.queryParameters
        var user = context.user
        if user == nil, let ticket = query["ticket"].map(String.init), !ticket.isEmpty {
            guard let found = tickets.redeem(ticket), !tokens.isRevoked(found.session),
                let owner = hub.index.user(found.userID)
            else { throw APIError.unauthorized("stream ticket is invalid, used or expired") }
            user = owner
        }
        if query["token"] != nil || query["access"] != nil {
            throw APIError.badRequest("tokens are not accepted in the URL; use a stream ticket")
        }
        guard let user else { throw APIError.unauthorized("Authentication credentials were not provided.") }
        let tenant = query["tenant"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        var lastEventID: Int64?
        if let text = request.headers[.lastEventID] ?? query["last_event_id"].map(String.init), !text.isEmpty {
            guard let value = Int64(text), value >= 0 else {
                throw APIError.badRequest("Last-Event-ID: must be an event id")
            }
            lastEventID = value
        }
        let hub = self.hub
        let (key, replay, stream) = hub.subscribe(userID: user.id, tenant: tenant, lastEventID: lastEventID)
        let logger = context.logger
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/event-stream", .cacheControl: "no-cache, no-store",
                HTTPField.Name("X-Accel-Buffering")!: "no",
            ],
            body: ResponseBody { writer in
                defer { hub.unsubscribe(key) }
                var hello = ByteBuffer(string: "retry: 3000\n\n")
                // Tells the page the stream is open and for whom, before any event arrives.
                let ready: JSONValue = [
                    "type": "ready", "user": .string(user.username), "tenant": tenant.map(JSONValue.string) ?? .null,
                ]
                hello.writeString("event: ready\ndata: \((try? ready.jsonText()) ?? "{}")\n\n")
                if let replay {
                    for event in replay { hello.writeImmutableBuffer(event.frame) }
                } else {
                    hello.writeString("event: reset\ndata: {\"type\":\"reset\"}\n\n")
                }
                try await writer.write(hello)
                for await item in stream {
                    switch item {
                    case .heartbeat:
                        try await writer.write(ByteBuffer(string: ": heartbeat\n\n"))
                    case .event(let event):
                        guard event.isStillVisible(to: user, in: hub.index.snapshot) else { continue }
                        try await writer.write(event.frame)
                    }
                }
                logger.debug("portal stream ended")
                try await writer.finish(nil)
            })
    }
}

extension HTTPField.Name {
    /// `Last-Event-ID`, sent by reconnecting EventSources.
    static let lastEventID = HTTPField.Name("Last-Event-ID")!
}
