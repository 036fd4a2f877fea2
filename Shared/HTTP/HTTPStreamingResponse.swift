import Foundation

/// A response whose body arrives as a sequence of chunks, for large downloads and event streams.
public struct HTTPStreamingResponse: Sendable {
    /// The status code, e.g. 200.
    public let status: Int
    /// The header fields of the final response.
    public let headers: HTTPHeaders
    /// The body, chunk by chunk as it arrives; iterate it once.
    public let body: HTTPResponseBody

    /// Whether the status is 2xx.
    public var isSuccess: Bool { (200..<300).contains(status) }

    /// Reads the rest of the body into memory, up to `limit` bytes (throws beyond).
    public func collect(upTo limit: Int = .max) async throws -> HTTPResponse {
        var data = Data()
        for try await chunk in body {
            guard data.count + chunk.count <= limit else {
                body.cancel()
                throw HTTPClientError.transport.with(
                    message: "response body exceeds \(limit) bytes", request: nil)
            }
            data.append(chunk)
        }
        return HTTPResponse(status: status, headers: headers, body: data)
    }
}

/// A streaming response body: an `AsyncSequence` of `Data` chunks that ends when the response ends and
/// throws ``HTTPClientError`` if the transfer fails. Cancelling the iterating task cancels the transfer.
public struct HTTPResponseBody: AsyncSequence, Sendable {
    /// Each element is the body bytes received since the previous one.
    public typealias Element = Data

    let owner: TransferOwner

    /// Stops the transfer now; iteration then throws ``HTTPClientError/cancelled``. No effect once ended.
    public func cancel() { owner.sink.cancel() }

    /// An iterator over the chunks.
    public func makeAsyncIterator() -> Iterator { Iterator(owner: owner) }

    /// Pulls the next chunk from the transfer, resuming curl if it was paused for the reader.
    public struct Iterator: AsyncIteratorProtocol {
        let owner: TransferOwner

        /// The next chunk, or nil at the end of the body.
        public mutating func next() async throws -> Data? {
            try await owner.sink.nextChunk()
        }
    }
}

/// Cancels the transfer once nobody holds the response or an iterator of its body, so that a dropped
/// streaming response never leaves a paused transfer (and its connection) behind.
final class TransferOwner: Sendable {
    let sink: TransferSink

    init(sink: TransferSink) { self.sink = sink }

    deinit { sink.cancel() }
}
