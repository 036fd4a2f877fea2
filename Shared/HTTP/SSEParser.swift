/// An incremental parser for `text/event-stream`, as specified by the WHATWG HTML standard
/// ("Server-sent events", §9.2.6): feed it bytes in chunks split anywhere, take the events dispatched.
///
/// Lines end with CRLF, LF or CR; a CR at the end of one chunk and an LF at the start of the next count as
/// one line ending. Comment lines (`:` first) are ignored; one space after the colon is dropped; a line
/// without a colon is a field with an empty value; `id` values containing NUL are ignored; a blank line
/// dispatches the event unless it has no data; an incomplete event at the end of the stream is dropped.
public struct SSEParser: Sendable {
    /// The ID of the last dispatched event (the standard's "last event ID string"), sent as
    /// `Last-Event-ID` when reconnecting. An `id:` field counts only once its event is dispatched, so an
    /// event cut off by a disconnect is not skipped on resumption.
    public private(set) var lastEventID = ""
    /// The latest `id:` field, committed to ``lastEventID`` at the next blank line.
    private var idBuffer = ""
    /// The reconnection time set by the latest valid `retry:` field, if any.
    public private(set) var retry: Duration?

    private var line: [UInt8] = []
    private var lastByteWasCR = false
    private var sawFirstLine = false
    private var data: [UInt8] = []
    private var hasData = false
    private var eventType = ""

    /// A parser at the start of a stream.
    public init() {}

    /// A parser that continues from `lastEventID` (after a reconnect the ID carries over).
    public init(lastEventID: String) {
        self.lastEventID = lastEventID
        idBuffer = lastEventID
    }

    /// Consumes `bytes` and returns the events they complete, in order.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [SSEEvent] {
        var events: [SSEEvent] = []
        for byte in bytes {
            if lastByteWasCR {
                lastByteWasCR = false
                if byte == 0x0A { continue }  // the LF of a CRLF
            }
            switch byte {
            case 0x0D:
                lastByteWasCR = true
                endLine(into: &events)
            case 0x0A:
                endLine(into: &events)
            default:
                line.append(byte)
            }
        }
        return events
    }

    /// The stream ended: forgets any partly received event (the standard drops it), including its `id:`,
    /// and any partial line.
    public mutating func reset() {
        line = []
        lastByteWasCR = false
        sawFirstLine = false
        data = []
        hasData = false
        eventType = ""
        idBuffer = lastEventID
    }

    private mutating func endLine(into events: inout [SSEEvent]) {
        var bytes = line[...]
        line = []
        if !sawFirstLine {
            sawFirstLine = true
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }  // a leading BOM
        }
        if bytes.isEmpty {
            dispatch(into: &events)
            return
        }
        if bytes.first == 0x3A { return }  // a comment
        let name: ArraySlice<UInt8>
        var value: ArraySlice<UInt8>
        if let colon = bytes.firstIndex(of: 0x3A) {
            name = bytes[..<colon]
            value = bytes[(colon + 1)...]
            if value.first == 0x20 { value = value.dropFirst() }
        } else {
            name = bytes
            value = []
        }
        switch String(decoding: name, as: UTF8.self) {
        case "event":
            eventType = String(decoding: value, as: UTF8.self)
        case "data":
            if hasData { data.append(0x0A) }
            data.append(contentsOf: value)
            hasData = true
        case "id":
            if !value.contains(0) { idBuffer = String(decoding: value, as: UTF8.self) }
        case "retry":
            if !value.isEmpty, value.allSatisfy({ (0x30...0x39).contains($0) }),
                let milliseconds = Int64(String(decoding: value, as: UTF8.self))
            {
                retry = .milliseconds(milliseconds)
            }
        default:
            break
        }
    }

    private mutating func dispatch(into events: inout [SSEEvent]) {
        lastEventID = idBuffer
        defer {
            data = []
            hasData = false
            eventType = ""
        }
        guard hasData else { return }
        events.append(
            SSEEvent(
                event: eventType.isEmpty ? "message" : eventType, data: String(decoding: data, as: UTF8.self),
                id: lastEventID))
    }
}
