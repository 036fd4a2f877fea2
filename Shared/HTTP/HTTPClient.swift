@_exported import DTPHTTPCore
import Foundation
import Logging
import Synchronization

/// An HTTP/1.1 and HTTP/2 client over libcurl, for calls from DTP services to other services and stores.
///
/// One client runs one dedicated thread that drives a curl multi handle: requests are `async`, no
/// blocking call runs on Swift's cooperative pool, and connections to a server are kept and reused.
/// Make one per process and share it; call ``shutdown()`` before it goes away.
///
/// ```swift
/// let client = try HTTPClient()
/// let response = try await client.execute(HTTPRequest(url: "http://127.0.0.1:8080/healthz"))
/// await client.shutdown()
/// ```
public final class HTTPClient: HTTPTransport {
    /// Defaults that apply to every request of the client.
    public struct Configuration: Sendable {
        /// How long establishing a connection may take unless a request says otherwise.
        public var connectTimeout: Duration
        /// How long a whole transfer may take unless a request says otherwise; nil for no limit.
        public var timeout: Duration?
        /// At most this many connections to one host at a time (more requests queue); 0 for no limit.
        public var maxConnectionsPerHost: Int
        /// How many unread bytes a streaming body holds before curl stops reading from the socket.
        public var streamBufferSize: Int
        /// The `User-Agent` sent when a request has none; nil sends none.
        public var userAgent: String?
        /// Where the client logs (at debug level and for failures of the loop itself).
        public var logger: Logger

        /// Defaults suited to calls between services: 10 s to connect, 60 s in all.
        public init(
            connectTimeout: Duration = .seconds(10), timeout: Duration? = .seconds(60),
            maxConnectionsPerHost: Int = 0, streamBufferSize: Int = 256 * 1024, userAgent: String? = "dtp-http",
            logger: Logger = Logger(label: "dtp.http")
        ) {
            self.connectTimeout = connectTimeout
            self.timeout = timeout
            self.maxConnectionsPerHost = maxConnectionsPerHost
            self.streamBufferSize = streamBufferSize
            self.userAgent = userAgent
            self.logger = logger
        }
    }

    /// The configuration the client was made with.
    public let configuration: Configuration
    private let loop: CurlLoop
    private let nextID = Atomic<UInt64>(1)

    /// Starts the client's thread; throws if curl cannot be initialised.
    public init(configuration: Configuration = Configuration()) throws {
        self.configuration = configuration
        loop = try CurlLoop(
            settings: CurlLoop.Settings(
                connectTimeout: configuration.connectTimeout, timeout: configuration.timeout,
                userAgent: configuration.userAgent, logger: configuration.logger,
                uploadBufferSize: max(1, configuration.streamBufferSize)),
            maxConnectionsPerHost: configuration.maxConnectionsPerHost)
        try loop.start()
    }

    /// Sends `request` and returns the whole response, whatever its status.
    ///
    /// Throws ``HTTPClientError`` when there is no response: timeouts, refused connections, DNS failures,
    /// cancellation of the calling task (which aborts the transfer) or shutdown of the client.
    public func execute(_ request: HTTPRequest) async throws -> HTTPResponse {
        let sink = try submit(request, mode: .buffered)
        return try await sink.response()
    }

    /// Sends `request` and returns once the response head has arrived; the body is read from
    /// ``HTTPStreamingResponse/body`` as it arrives.
    ///
    /// While the reader lags, curl stops reading the socket (at most
    /// ``Configuration/streamBufferSize`` bytes wait in memory). Dropping the response without reading
    /// the body to its end cancels the transfer. Prefer ``stream(_:_:)``, which scopes this.
    public func execute(streaming request: HTTPRequest) async throws -> HTTPStreamingResponse {
        let sink = try submit(request, mode: .streaming(highWater: max(1, configuration.streamBufferSize)))
        let owner = TransferOwner(sink: sink)
        let head = try await sink.head()
        return HTTPStreamingResponse(status: head.status, headers: head.headers, body: HTTPResponseBody(owner: owner))
    }

    /// Sends `request`, hands the streaming response to `handler`, and cancels the transfer if the handler
    /// returns before the body ended.
    public func stream<Result: Sendable>(
        _ request: HTTPRequest, _ handler: (HTTPStreamingResponse) async throws -> Result
    ) async throws -> Result {
        let response = try await execute(streaming: request)
        defer { response.body.cancel() }
        return try await handler(response)
    }

    /// Fails pending requests with ``HTTPClientError/shutdown``, closes every connection and waits for the
    /// client's thread to finish. Requests made afterwards fail with the same error.
    public func shutdown() async {
        await loop.shutdown()
    }

    private func submit(_ request: HTTPRequest, mode: TransferSink.Mode) throws(HTTPClientError) -> TransferSink {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let sink = TransferSink(id: id, mode: mode, loop: loop)
        guard loop.submit(.add(sink, request)) else {
            throw HTTPClientError.shutdown.with(
                message: "the client was shut down",
                request: redactedDescription(method: request.method, url: request.url))
        }
        return sink
    }
}
