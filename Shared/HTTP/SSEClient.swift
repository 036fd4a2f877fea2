import Foundation

/// An `EventSource`-like client for Server-Sent Events: an `AsyncSequence` of ``SSEEvent``s that
/// reconnects when the stream ends or breaks.
///
/// Each iteration opens the stream with `Accept: text/event-stream`. When the connection closes or
/// fails, it waits the reconnection time (the server's latest `retry:`, else ``retry``) and reconnects
/// with `Last-Event-ID` set to the last event ID seen, so a server that honours it resumes after the last
/// delivered event. A 204 response ends the sequence; any other status than 200, or a 200 that is not
/// `text/event-stream`, throws ``SSEError``. Cancelling the iterating task ends the transfer and throws
/// `CancellationError`. Events are read as the consumer asks for them, so a slow consumer slows the
/// transfer rather than filling memory.
///
/// ```swift
/// for try await event in SSEClient(client: client, url: "http://127.0.0.1:8080/events") {
///     print(event.event, event.data)
/// }
/// ```
public struct SSEClient: AsyncSequence, Sendable {
    /// Each element is one dispatched event.
    public typealias Element = SSEEvent

    /// The client the stream goes through.
    public let client: HTTPClient
    /// The request sent on each (re)connection; the stream sets `Accept`, `Last-Event-ID` and no total
    /// timeout on it.
    public let request: HTTPRequest
    /// The reconnection time until the server sends `retry:`.
    public let retry: Duration
    /// How many connection attempts in a row may fail (connect errors, or streams that end with no
    /// event) before the sequence throws ``SSEError/reconnectsExhausted``; nil to keep trying.
    public let maxConsecutiveFailures: Int?
    /// The `Last-Event-ID` to send on the first connection, to resume an earlier stream.
    public let lastEventID: String

    /// A stream of the events at `request`.
    public init(
        client: HTTPClient, request: HTTPRequest, retry: Duration = .seconds(3),
        maxConsecutiveFailures: Int? = nil, lastEventID: String = ""
    ) {
        self.client = client
        self.request = request
        self.retry = retry
        self.maxConsecutiveFailures = maxConsecutiveFailures
        self.lastEventID = lastEventID
    }

    /// A stream of the events at `url`, with a `GET`.
    public init(
        client: HTTPClient, url: String, headers: HTTPHeaders = [:], retry: Duration = .seconds(3),
        maxConsecutiveFailures: Int? = nil, lastEventID: String = ""
    ) {
        self.init(
            client: client, request: HTTPRequest(url: url, headers: headers), retry: retry,
            maxConsecutiveFailures: maxConsecutiveFailures, lastEventID: lastEventID)
    }

    /// Starts a new connection when first asked for an event.
    public func makeAsyncIterator() -> Iterator { Iterator(stream: self) }

    /// Connects, parses and reconnects as events are asked for.
    public struct Iterator: AsyncIteratorProtocol {
        private let stream: SSEClient
        private var parser: SSEParser
        private var pending: [SSEEvent] = []
        private var body: HTTPResponseBody?
        private var bodyIterator: HTTPResponseBody.Iterator?
        private var connections = 0
        private var failures = 0
        private var eventsOnThisConnection = 0
        private var finished = false

        init(stream: SSEClient) {
            self.stream = stream
            parser = SSEParser(lastEventID: stream.lastEventID)
        }

        /// The next event, or nil once the server answered 204.
        public mutating func next() async throws -> SSEEvent? {
            while true {
                if !pending.isEmpty { return pending.removeFirst() }
                if finished { return nil }
                try Task.checkCancellation()
                guard var iterator = bodyIterator else {
                    try await connect()
                    continue
                }
                let chunk: Data?
                do {
                    chunk = try await iterator.next()
                } catch {
                    try Task.checkCancellation()
                    chunk = nil  // a broken stream is reconnected, like one that ended
                }
                bodyIterator = iterator
                guard let chunk else {
                    disconnect()
                    continue
                }
                pending = parser.feed(chunk)
                eventsOnThisConnection += pending.count
                if !pending.isEmpty { failures = 0 }
            }
        }

        private mutating func disconnect() {
            body?.cancel()
            body = nil
            bodyIterator = nil
            parser.reset()
            if eventsOnThisConnection == 0 { failures += 1 }
        }

        private mutating func connect() async throws {
            if connections > 0 {
                if let limit = stream.maxConsecutiveFailures, failures > limit {
                    throw SSEError.reconnectsExhausted.with(
                        status: nil, message: "\(failures) connection attempts in a row failed")
                }
                try await Task.sleep(for: parser.retry ?? stream.retry)
            }
            connections += 1
            eventsOnThisConnection = 0
            var request = stream.request
            request.headers.replaceOrAdd(name: "Accept", value: "text/event-stream")
            request.headers.replaceOrAdd(name: "Cache-Control", value: "no-cache")
            if parser.lastEventID.isEmpty {
                request.headers.remove(name: "Last-Event-ID")
            } else {
                request.headers.replaceOrAdd(name: "Last-Event-ID", value: parser.lastEventID)
            }
            request.timeout = .unlimited
            let response: HTTPStreamingResponse
            do {
                response = try await stream.client.execute(streaming: request)
            } catch let error as HTTPClientError
                where error != .cancelled && error != .shutdown && error != .invalidURL && error != .invalidRequest
            {
                try Task.checkCancellation()
                failures += 1
                return  // reconnect after the delay
            }
            if response.status == 204 {
                response.body.cancel()
                finished = true
                return
            }
            guard response.status == 200 else {
                let text = (try? await response.collect(upTo: 64 * 1024).bodyText) ?? ""
                throw SSEError.badStatus.with(status: response.status, message: text)
            }
            let contentType = response.headers.first(name: "Content-Type") ?? ""
            guard contentType.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
                == "text/event-stream"
            else {
                response.body.cancel()
                throw SSEError.badContentType.with(
                    status: 200, message: "Content-Type is \(contentType.debugDescription)")
            }
            body = response.body
            bodyIterator = response.body.makeAsyncIterator()
        }
    }
}
