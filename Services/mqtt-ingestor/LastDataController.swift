import DTPAuth
import DTPModel
import DTPPostgres
import DTPServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// `GET /api/last-data?twin=<id>&twin=<id2>`: when each declared stream of the given twins (all twins
/// without a parameter) last delivered data, for the gateway.
///
/// Answers a JSON array, ordered by twin and stream, of
/// `{"twin_id", "stream", "topic", "last_seen" (ISO 8601 UTC), "messages"}`: `stream` is the topic filter
/// the twin declares, `topic` the concrete topic of the latest message, `messages` how many were stored
/// (a message replayed after a crash may be counted again).
struct LastDataController: Sendable {
    let pool: PostgresPool

    func addRoutes(to group: RouterGroup<BasicRequestContext>) {
        group.get("last-data", use: lastData)
    }

    struct Entry: Encodable {
        let twin_id: String
        let stream: String
        let topic: String
        let last_seen: String
        let messages: Int64
    }

    @Sendable func lastData(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let twins = request.uri.queryParameters.getAll("twin").map { String($0) }.filter { !$0.isEmpty }
        let base = "SELECT twin_id, stream, topic, last_seen, messages FROM telemetry.stream_last_seen"
        let rows: [PostgresRow]
        if twins.isEmpty {
            rows = try await pool.query(base + " ORDER BY twin_id, stream")
        } else {
            rows = try await pool.query(base + " WHERE twin_id = ANY($1::text[]) ORDER BY twin_id, stream", [twins])
        }
        let entries = try rows.map { row in
            Entry(
                twin_id: try row.decode(String.self, at: 0), stream: try row.decode(String.self, at: 1),
                topic: try row.decode(String.self, at: 2),
                last_seen: Timestamp(try row.decode(Date.self, at: 3)).iso8601,
                messages: try row.decode(Int64.self, at: 4))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: try encoder.encode(entries))))
    }
}

/// Requires `Authorization: Bearer <token>` with a service token or a gateway-issued access JWT.
struct BearerAuthMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext

    let serviceTokens: ServiceTokens
    let signer: HS256Signer?

    func handle(
        _ request: Request, context: BasicRequestContext,
        next: (Request, BasicRequestContext) async throws -> Response
    ) async throws -> Response {
        guard let header = request.headers[.authorization], header.count > 7,
            header.prefix(7).lowercased() == "bearer "
        else {
            throw APIError.unauthorized("Authentication credentials were not provided.")
        }
        let token = header.dropFirst(7).trimmingCharacters(in: .whitespaces)
        if serviceTokens.service(for: token) != nil { return try await next(request, context) }
        if let signer {
            do {
                _ = try signer.verifyAccessToken(token)
                return try await next(request, context)
            } catch {
                context.logger.debug("token refused", metadata: ["reason": "\(error)"])
            }
        }
        throw APIError.unauthorized("Given token not valid for any token type")
    }
}
