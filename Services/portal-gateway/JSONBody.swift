import DTPModel
import DTPServiceKit
import Foundation
import HTTPTypes
import Hummingbird

/// Reading JSON request bodies with a size limit, and writing JSON responses.
enum JSONBody {
    /// The body as a JSON object: 413 above `limit` bytes, 400 when it is not a JSON object.
    static func object(_ request: Request, limit: Int) async throws -> [String: JSONValue] {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw APIError.contentTooLarge("request body is larger than \(limit) bytes")
        }
        let text = String(buffer: buffer)
        if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return [:] }
        guard let value = try? JSONValue(jsonText: text, maxDepth: 64), case .object(let object) = value else {
            throw APIError.badRequest("body must be a JSON object")
        }
        return object
    }

    /// The string fields `keys` of `object`; 400 `{"<key>": ["This field is required."]}` for each
    /// missing one, the earlier API's (Django REST framework's) answer.
    static func require(_ keys: [String], in object: [String: JSONValue]) throws -> [String] {
        var missing: [String: JSONValue] = [:]
        var values: [String] = []
        for key in keys {
            if let value = object[key]?.stringValue, !value.isEmpty {
                values.append(value)
            } else {
                missing[key] = ["This field is required."]
            }
        }
        if !missing.isEmpty { throw FieldErrors(fields: missing) }
        return values
    }

    /// A JSON response.
    static func response(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        let text = (try? value.jsonText()) ?? "null"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// Field errors in Django REST framework's shape: `{"field": ["message"]}` with 400.
struct FieldErrors: HTTPResponseError {
    let fields: [String: JSONValue]
    var status: HTTPResponse.Status { .badRequest }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        JSONBody.response(.object(fields), status: .badRequest)
    }
}

extension Card {
    /// The earlier `/api/me/twins/` shape plus the tenant.
    var json: JSONValue {
        [
            "twin_id": .string(id), "name": .string(name), "ui_url": .string(uiURL),
            "dtr_id": dtrID.map(JSONValue.string) ?? .null, "tenant": .string(tenant),
        ]
    }
}

extension User {
    /// The earlier `/api/me/` shape.
    var json: JSONValue {
        [
            "id": .int(Int(id)), "username": .string(username), "email": .string(email),
            "is_staff": .bool(isStaff), "is_superuser": .bool(isSuperuser),
        ]
    }
}

/// Answers ``FieldErrors`` in their own shape; placed inside the `{"detail"}` middleware, which would
/// otherwise turn them into a plain detail.
struct FieldErrorsMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as FieldErrors {
            return try error.response(from: request, context: context)
        }
    }
}
