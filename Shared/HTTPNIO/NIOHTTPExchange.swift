import DTPHTTPCore
import NIOCore
import NIOHTTP1
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One request and its response on a connection of its own.
final class Exchange: Sendable {
    let target: RequestTarget
    let head: HTTPRequestHead
    let body: Data?
    let maxResponseBytes: Int
    let described: String
    /// Set by the total timeout before it closes the connection, so that the closed stream reads as a
    /// timeout rather than as a server that hung up.
    let timedOut = Mutex(false)

    init(target: RequestTarget, head: HTTPRequestHead, body: Data?, maxResponseBytes: Int, described: String) {
        self.target = target
        self.head = head
        self.body = body
        self.maxResponseBytes = maxResponseBytes
        self.described = described
    }

    /// Writes the request, reads the final response (skipping interim 1xx ones), and closes the connection.
    func run(on channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>) async throws -> HTTPResponse {
        do {
            return try await channel.executeThenClose { inbound, outbound in
                // One write, one flush: the server can answer (and, with `Connection: close`, hang up) only
                // once it has the whole request, so no later write can meet a closed connection.
                var parts: [HTTPClientRequestPart] = [.head(head)]
                if let body, !body.isEmpty { parts.append(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
                parts.append(.end(nil))
                try await outbound.write(contentsOf: parts)
                var status = 0
                var headers = DTPHTTPCore.HTTPHeaders()
                var collected = ByteBuffer()
                for try await part in inbound {
                    switch part {
                    case .head(let responseHead):
                        status = Int(responseHead.status.code)
                        headers = DTPHTTPCore.HTTPHeaders(responseHead.headers.map { ($0.name, $0.value) })
                    case .body(var chunk):
                        guard (100..<200).contains(status) == false else { continue }
                        guard collected.readableBytes + chunk.readableBytes <= maxResponseBytes else {
                            throw HTTPClientError.transport.with(
                                message: "response body larger than \(maxResponseBytes) bytes", request: described)
                        }
                        collected.writeBuffer(&chunk)
                    case .end:
                        // An interim response (100 Continue, 103 Early Hints) is followed by the final one.
                        if (100..<200).contains(status) && status != 101 { continue }
                        return HTTPResponse(
                            status: status, headers: headers, body: Data(collected.readableBytesView))
                    }
                }
                throw HTTPClientError.transport.with(
                    message: "the connection closed before the response ended", request: described)
            }
        } catch let error as HTTPClientError {
            throw failure(error)
        } catch {
            throw failure(HTTPClientError.transport.with(message: "\(error)", request: described))
        }
    }

    /// A failure as the caller should see it: a timeout or cancellation, when that is what closed the
    /// connection, rather than the closed connection itself.
    private func failure(_ error: HTTPClientError) -> HTTPClientError {
        if timedOut.withLock({ $0 }) {
            return HTTPClientError.timeout.with(message: "timeout", request: described)
        }
        if Task.isCancelled {
            return HTTPClientError.cancelled.with(message: "cancelled", request: described)
        }
        return error
    }
}
