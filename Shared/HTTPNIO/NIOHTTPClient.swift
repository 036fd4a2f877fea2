import DTPHTTPCore
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A plain-HTTP/1.1 client over SwiftNIO (already in every service through Hummingbird), for the twin
/// generators: their calls are few and go to their own InfluxDB and the registry, and without libcurl they
/// load no TLS, Kerberos or LDAP libraries, which is most of the difference between a 40 MiB and a 30 MiB
/// idle process.
///
/// Each request opens its own connection and closes it (`Connection: close`), so there is no pool to own
/// or shut down; on loopback or in a cluster network that costs well under a millisecond. `https://` URLs
/// are refused with ``HTTPClientError/invalidURL``: put a TLS-terminating proxy in front, or use the
/// libcurl client of `DTPHTTP`.
public struct NIOHTTPClient: HTTPTransport {
    /// How long establishing a connection may take.
    public var connectTimeout: Duration
    /// How long a whole request may take when it does not say (``HTTPRequest/Timeout/clientDefault``).
    public var timeout: Duration
    /// The largest response body accepted; a longer one fails the request with ``HTTPClientError/transport``.
    public var maxResponseBytes: Int
    /// The `User-Agent` sent when a request has none.
    public var userAgent: String
    private let group: any EventLoopGroup

    /// A client on `group` (by default NIO's shared singleton group, which Hummingbird also uses).
    public init(
        connectTimeout: Duration = .seconds(10), timeout: Duration = .seconds(60), maxResponseBytes: Int = 64 << 20,
        userAgent: String = "dtp-http", group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        self.maxResponseBytes = maxResponseBytes
        self.userAgent = userAgent
        self.group = group
    }

    /// Sends `request` and returns the whole response, whatever its status.
    ///
    /// Throws ``HTTPClientError`` when there is no response: a bad or `https` URL, an upload (not
    /// supported here), refused or timed-out connections, DNS failures, the total timeout, or cancellation
    /// of the calling task.
    public func execute(_ request: HTTPRequest) async throws -> HTTPResponse {
        let described = redactedDescription(method: request.method, url: request.url)
        let target: RequestTarget
        do {
            target = try RequestTarget(url: request.url)
        } catch {
            throw HTTPClientError.invalidURL.with(message: error.message, request: described)
        }
        guard request.upload == nil else {
            throw HTTPClientError.invalidRequest.with(
                message: "streamed uploads need the libcurl client (DTPHTTP)", request: described)
        }
        let limit: Duration? =
            switch request.timeout {
            case .clientDefault: timeout
            case .unlimited: nil
            case .after(let duration): duration
            }
        let exchange = Exchange(
            target: target, head: head(for: request, target: target), body: request.body,
            maxResponseBytes: maxResponseBytes, described: described)
        let channel = try await connect(target, timeout: request.connectTimeout ?? connectTimeout, described)
        let expiry = limit.map { limit in
            channel.channel.eventLoop.scheduleTask(in: .nanoseconds(limit.nanoseconds)) {
                exchange.timedOut.withLock { $0 = true }
                channel.channel.close(promise: nil)
            }
        }
        defer { expiry?.cancel() }
        return try await withTaskCancellationHandler {
            try await exchange.run(on: channel)
        } onCancel: {
            channel.channel.close(promise: nil)
        }
    }

    private func head(for request: HTTPRequest, target: RequestTarget) -> HTTPRequestHead {
        var headers = NIOHTTP1.HTTPHeaders()
        headers.add(name: "Host", value: target.hostHeader)
        for (name, value) in request.headers where name.lowercased() != "host" {
            headers.add(name: name, value: value)
        }
        if let authorization = target.basicAuthorization, !request.headers.contains(name: "Authorization") {
            headers.add(name: "Authorization", value: authorization)
        }
        if !request.headers.contains(name: "User-Agent") { headers.add(name: "User-Agent", value: userAgent) }
        if let body = request.body {
            headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
        } else if [.post, .put, .patch].contains(request.method) {
            headers.replaceOrAdd(name: "Content-Length", value: "0")
        }
        headers.replaceOrAdd(name: "Connection", value: "close")
        return HTTPRequestHead(
            version: .http1_1, method: NIOHTTP1.HTTPMethod(rawValue: request.method.rawValue),
            uri: target.pathAndQuery, headers: headers)
    }

    private func connect(
        _ target: RequestTarget, timeout: Duration, _ described: String
    ) async throws -> NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart> {
        do {
            return try await ClientBootstrap(group: group)
                .connectTimeout(.nanoseconds(timeout.nanoseconds))
                .connect(host: target.host, port: target.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                            wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw Self.connectFailure(error, described)
        }
    }

    /// The kind of ``HTTPClientError`` a failed connect is, from NIO's errors.
    static func connectFailure(_ error: any Error, _ described: String) -> HTTPClientError {
        if case ChannelError.connectTimeout = error {
            return HTTPClientError.connectTimeout.with(message: "connect timeout", request: described)
        }
        guard let failure = error as? NIOConnectionError else {
            return HTTPClientError.connectFailed.with(message: "\(error)", request: described)
        }
        if failure.connectionErrors.isEmpty {
            return HTTPClientError.dnsFailure.with(
                message: "could not resolve \(failure.host)", request: described)
        }
        let refused = failure.connectionErrors.contains { ($0.error as? IOError)?.errnoCode == ECONNREFUSED }
        if refused {
            return HTTPClientError.connectionRefused.with(
                message: "connection refused by \(failure.host):\(failure.port)", request: described)
        }
        if failure.connectionErrors.contains(where: {
            if case ChannelError.connectTimeout = $0.error { return true } else { return false }
        }) {
            return HTTPClientError.connectTimeout.with(message: "connect timeout", request: described)
        }
        return HTTPClientError.connectFailed.with(
            message: failure.connectionErrors.map { "\($0.target): \($0.error)" }.joined(separator: "; "),
            request: described)
    }
}

extension Duration {
    /// The duration in whole nanoseconds, clamped to what NIO's `TimeAmount` holds.
    fileprivate var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : scaled &+ attoseconds / 1_000_000_000
    }
}
