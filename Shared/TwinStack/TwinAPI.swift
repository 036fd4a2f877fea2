import DTPServiceKit
import HTTPTypes
import Hummingbird

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Helpers for the generators' JSON API.
public enum TwinAPI {
    /// The `mins` query parameter: 15 by default, 1 to 1440.
    public static func minutes(_ request: Request, default value: Int = 15) throws -> Int {
        guard let text = request.uri.queryParameters.get("mins") else { return value }
        guard let minutes = Int(text), (1...1440).contains(minutes) else {
            throw APIError.badRequest("mins must be a whole number of minutes from 1 to 1440")
        }
        return minutes
    }

    /// `value` as a JSON response.
    public static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: TwinJSON.encode(value))))
    }

    /// The JSON body of `request` decoded as `T`, or a 400 naming what is wrong.
    public static func decode<T: Decodable>(
        _ type: T.Type, from request: Request, context: some RequestContext
    ) async throws -> T {
        let buffer = try await request.body.collect(upTo: 64 * 1024)
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch {
            throw APIError.badRequest("the body is not the expected JSON: \(error)")
        }
    }
}
