#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A request body that is sent as it is read, rather than held in memory: a file, or chunks produced by an
/// async stream. Set it as ``HTTPRequest/upload``; it takes the place of ``HTTPRequest/body``.
///
/// An upload is a recipe, not a one-shot stream: each time a request is sent the file is opened anew or
/// the stream factory is called again, so a request with an upload can still be sent more than once.
public struct HTTPUpload: Sendable {
    package enum Source: Sendable {
        case file(path: String)
        case stream(@Sendable () -> AsyncThrowingStream<Data, any Error>)
    }

    package let source: Source
    /// The number of bytes, sent as `Content-Length`; nil sends the body chunked (HTTP/1.1).
    public let length: Int64?

    /// The contents of the file at `path`, read by curl on the client's own thread as it sends.
    /// Throws when the file cannot be examined; its size at this moment becomes `Content-Length`.
    public static func file(atPath path: String) throws -> HTTPUpload {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        let size: Int64 =
            switch attributes[.size] {
            case let size as Int: Int64(size)
            case let size as Int64: size
            case let size as UInt64: Int64(clamping: size)
            default: 0
            }
        return HTTPUpload(source: .file(path: path), length: size)
    }

    /// The chunks of the stream that `makeStream` returns, sent as they arrive. `length`, when given, must
    /// be the exact total, or the server sees a short or overlong body.
    ///
    /// While curl has not sent what is buffered (at most about the curl client's `streamBufferSize`
    /// bytes), the stream is not asked for more. A stream that throws fails the request with
    /// ``HTTPClientError/transport`` carrying its error.
    public static func stream(
        length: Int64?, _ makeStream: @escaping @Sendable () -> AsyncThrowingStream<Data, any Error>
    ) -> HTTPUpload {
        HTTPUpload(source: .stream(makeStream), length: length)
    }
}
