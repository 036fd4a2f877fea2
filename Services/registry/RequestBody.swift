import DTPModel
import DTPServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Reading JSON request bodies with the registry's limits and `{"detail"}` answers.
enum RequestJSON {
    /// The body parsed as JSON: 413 above `limit` bytes, 400 when it is not JSON.
    static func read(_ request: Request, limit: Int) async throws -> JSONValue {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw APIError.contentTooLarge("request body is larger than \(limit) bytes")
        }
        // Checked on the bytes: Foundation's trimming bridged the whole body through NSString.
        let blank = buffer.readableBytesView.allSatisfy { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        if blank { throw APIError.badRequest("request body is empty; a JSON object is required") }
        let text = String(buffer: buffer)
        do {
            return try JSONValue(jsonText: text, maxDepth: 64)
        } catch {
            throw APIError.badRequest("malformed JSON: \(error)")
        }
    }

    /// The `Content-Type` of every JSON answer.
    static let contentType = "application/json; charset=utf-8"

    /// A `200`/`201` JSON response from JSON text.
    static func response(_ json: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: json)))
    }

    /// A JSON array response from element texts.
    static func arrayResponse(_ items: [String], headers: HTTPFields = [:]) -> Response {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(items.reduce(2) { $0 + $1.utf8.count + 1 })
        buffer.writeStaticString("[")
        for (index, item) in items.enumerated() {
            if index > 0 { buffer.writeStaticString(",") }
            buffer.writeString(item)
        }
        buffer.writeStaticString("]")
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: buffer))
    }

    /// A JSON array response with a ready body.
    static func arrayResponse(body: ByteBuffer, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
    }

    /// A response with the JSON of `value`.
    static func response(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws
        -> Response
    {
        response(try value.jsonText(), status: status, headers: headers)
    }
}
