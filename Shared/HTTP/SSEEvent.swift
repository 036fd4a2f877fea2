/// One Server-Sent Event, as dispatched by ``SSEParser``.
public struct SSEEvent: Sendable, Hashable {
    /// The event type: the last `event:` field, or `message` when there was none.
    public var event: String
    /// The `data:` fields joined with line feeds.
    public var data: String
    /// The last event ID at dispatch: the latest valid `id:` field of this or an earlier event ("" if none).
    public var id: String

    /// An event with these parts.
    public init(event: String = "message", data: String, id: String = "") {
        self.event = event
        self.data = data
        self.id = id
    }
}
