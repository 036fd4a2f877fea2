import DTPModel
import DTPPostgres
import DTPS3
import DTPServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// `/api/registry/twins/{id}/artifacts`: blobs in S3 with their manifest rows in `registry.artifact`.
///
/// `PUT` streams the request body straight to S3 while hashing it, then records the manifest row and the
/// `artifact.update` event in one transaction; `GET` of one answers 302 to a presigned URL, so the blob
/// never passes through the registry on the way out.
///
/// Streaming, not spooling, and why: the registry runs with a read-only root filesystem and a small
/// memory limit, so spooling up to `DTP_REGISTRY_MAX_ARTIFACT_BYTES` per concurrent upload to a temp file
/// would need a writable volume sized for the worst case, and would double the latency (write, hash,
/// read again). Streaming keeps at most the HTTP client's stream buffer per upload in memory and no disk.
/// Its price is that S3 needs the length up front (a single PUT has a `Content-Length`; S3 takes no
/// chunked body), hence 411 without `Content-Length`, and that the hash is known only at the end, so the
/// PUT is sent with `UNSIGNED-PAYLOAD`. The checksum recorded is the SHA-256 of exactly the bytes handed
/// to S3, and a body that ends early or runs long fails the PUT (the length is fixed), so the manifest is
/// written only for a blob that S3 accepted whole.
struct ArtifactController: Sendable {
    let pool: PostgresPool
    /// Nil when `MINIO_ENDPOINT` is not set: every artifact endpoint answers 503.
    let storage: ArtifactStorage?

    static let notConfigured = APIError.unavailable("artifact storage is not configured")

    func addRoutes(to group: RouterGroup<RegistryContext>) {
        group.get("twins/{id}/artifacts", use: list)
        group.put("twins/{id}/artifacts/{name}", use: put)
        group.get("twins/{id}/artifacts/{name}", use: get)
        group.delete("twins/{id}/artifacts/{name}", use: delete)
    }

    /// Refuses names that could be read as a path or would be unsafe in a key or a header: empty, longer
    /// than 200 characters, `..`, `/`, `\` or control characters.
    static func validate(name: String) throws(APIError) {
        if name.isEmpty { throw APIError.badRequest("name: must not be empty") }
        if name.count > 200 { throw APIError.badRequest("name: at most 200 characters") }
        if name == "." || name.contains("..") { throw APIError.badRequest("name: must not contain '..'") }
        if name.contains("/") || name.contains("\\") {
            throw APIError.badRequest("name: must not contain '/' or '\\'")
        }
        if name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw APIError.badRequest("name: must not contain control characters")
        }
    }

    private func requireStorage() throws -> ArtifactStorage {
        guard let storage else { throw Self.notConfigured }
        return storage
    }

    /// The path parameters, validated: the twin id and the artifact name.
    private func target(_ context: RegistryContext) throws -> (twin: String, name: String) {
        let twin = try context.parameters.require("id")
        // The router hands the segment over still percent-encoded; the name is what it encodes, so that
        // `%2F` or `%2E%2E` are judged as the `/` and `..` they stand for.
        guard let name = try context.parameters.require("name").removingPercentEncoding else {
            throw APIError.badRequest("name: invalid percent-encoding")
        }
        try Self.validate(name: name)
        return (twin, name)
    }

    private func tenant(of twin: String) async throws -> String {
        guard let row = try await pool.query("SELECT tenant FROM registry.twin WHERE id = $1", [twin]).first else {
            throw APIError.notFound("twin not found")
        }
        return try row.decode(String.self, at: 0)
    }

    @Sendable func put(_ request: Request, context: RegistryContext) async throws -> Response {
        let storage = try requireStorage()
        let (twin, name) = try target(context)
        guard let lengthText = request.headers[.contentLength] else {
            throw APIError(.lengthRequired, "Content-Length is required: the body is streamed to S3 as it arrives")
        }
        guard let length = Int64(lengthText), length >= 0 else {
            throw APIError.badRequest("Content-Length: not a byte count")
        }
        guard length <= storage.maxBytes else {
            throw APIError.contentTooLarge("artifact is larger than \(storage.maxBytes) bytes")
        }
        let tenant = try await tenant(of: twin)
        let key = ArtifactStorage.key(tenant: tenant, twin: twin, name: name)
        let contentType = request.headers[.contentType] ?? "application/octet-stream"
        try await storage.ensureBucketOrFail(logger: context.logger)
        let reader = ArtifactBodyReader(body: request.body, expectedLength: length)
        do {
            try await storage.s3.putObject(key: key, length: length, sha256: nil, contentType: contentType) {
                AsyncThrowingStream(unfolding: { try await reader.next() })
            }
        } catch let error as S3Error {
            throw ArtifactStorage.answer(error, logger: context.logger)
        }
        let size = await reader.size
        guard size == length else {
            throw APIError.badRequest("the body ended after \(size) of its \(length) bytes")
        }
        let sha256 = await reader.sha256()
        let actor = context.caller
        let manifest: (json: JSONValue, created: Bool)
        do {
            manifest = try await pool.transaction { connection in
                // The twin may have gone while the body streamed; the row lock keeps it until commit.
                guard
                    let row = try await connection.query(
                        "SELECT tenant FROM registry.twin WHERE id = $1 FOR UPDATE", [twin]
                    ).first,
                    try row.decode(String.self, at: 0) == tenant
                else { throw APIError.notFound("twin not found") }
                let rows = try await connection.query(
                    """
                    INSERT INTO registry.artifact
                        (twin_id, name, bucket, key, size, sha256, content_type, created_by)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                    ON CONFLICT (twin_id, name) DO UPDATE SET bucket = excluded.bucket, key = excluded.key,
                        size = excluded.size, sha256 = excluded.sha256, content_type = excluded.content_type,
                        created_at = now(), created_by = excluded.created_by
                    RETURNING (xmax = 0), \(Self.manifestColumns)
                    """, [twin, name, storage.bucket, key, size, sha256, contentType, actor])
                let created = try rows[0].decode(Bool.self, at: 0)
                let json = try JSONValue(jsonText: try rows[0].decode(String.self, at: 1))
                try await EventOutbox.append(
                    [OutboxEvent(tenant: tenant, type: .artifactUpdate, payload: Self.payload(json, op: "put"), actor: actor)],
                    on: connection)
                return (json, created)
            }
        } catch let error as APIError where error.status == .notFound {
            // The twin was deleted meanwhile: do not leave its blob behind.
            try? await storage.s3.deleteObject(key: key)
            throw error
        }
        return try RequestJSON.response(manifest.json, status: manifest.created ? .created : .ok)
    }

    @Sendable func list(_ request: Request, context: RegistryContext) async throws -> Response {
        _ = try requireStorage()
        let twin = try context.parameters.require("id")
        _ = try await tenant(of: twin)
        let rows = try await pool.query(
            "SELECT \(Self.manifestColumns) FROM registry.artifact WHERE twin_id = $1 ORDER BY name", [twin])
        return RequestJSON.arrayResponse(try rows.map { try $0.decode(String.self, at: 0) })
    }

    @Sendable func get(_ request: Request, context: RegistryContext) async throws -> Response {
        let storage = try requireStorage()
        let (twin, name) = try target(context)
        _ = try await tenant(of: twin)
        guard
            let row = try await pool.query(
                "SELECT bucket, key FROM registry.artifact WHERE twin_id = $1 AND name = $2", [twin, name]
            ).first
        else { throw APIError.notFound("artifact not found") }
        let s3 = storage.s3.with(bucket: try row.decode(String.self, at: 0))
        let url = s3.presignedGetURL(key: try row.decode(String.self, at: 1), expires: storage.presignedLifetime)
        return Response(status: .found, headers: [.location: url, .cacheControl: "no-store"])
    }

    @Sendable func delete(_ request: Request, context: RegistryContext) async throws -> Response {
        let storage = try requireStorage()
        let (twin, name) = try target(context)
        let tenant = try await tenant(of: twin)
        let actor = context.caller
        // The blob is deleted inside the transaction, after the row is locked and before the event: if S3
        // fails, the row stays (and the blob with it); a manifest row never outlives a blob it was told
        // about by S3's success.
        try await pool.transaction { connection in
            guard
                let row = try await connection.query(
                    """
                    DELETE FROM registry.artifact WHERE twin_id = $1 AND name = $2
                    RETURNING bucket, key, \(Self.manifestColumns)
                    """, [twin, name]
                ).first
            else { throw APIError.notFound("artifact not found") }
            let s3 = storage.s3.with(bucket: try row.decode(String.self, at: 0))
            do {
                try await s3.deleteObject(key: try row.decode(String.self, at: 1))
            } catch let error as S3Error {
                throw ArtifactStorage.answer(error, logger: context.logger)
            }
            let json = try JSONValue(jsonText: try row.decode(String.self, at: 2))
            try await EventOutbox.append(
                [OutboxEvent(tenant: tenant, type: .artifactUpdate, payload: Self.payload(json, op: "delete"), actor: actor)],
                on: connection)
        }
        return try RequestJSON.response(["ok": true])
    }

    /// The manifest as JSON text: one column.
    static let manifestColumns = """
        jsonb_build_object(
            'twin_id', twin_id, 'name', name, 'bucket', bucket, 'key', key, 'size', size, 'sha256', sha256,
            'content_type', content_type, 'created_by', created_by,
            'created_at', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text
        """

    static func payload(_ manifest: JSONValue, op: String) -> JSONValue {
        guard case .object(var object) = manifest else { return manifest }
        object["op"] = .string(op)
        return .object(object)
    }
}

extension ArtifactStorage {
    /// Creates the bucket on first use; an S3 failure is a 503 rather than a 500.
    func ensureBucketOrFail(logger: Logger) async throws {
        do {
            try await ensureBucket()
        } catch let error as S3Error {
            throw Self.answer(error, logger: logger)
        }
    }

    /// The answer for an S3 failure: 503 when S3 cannot be reached, 502 when it refused. S3's message is
    /// logged, not returned: it may name buckets and keys of other tenants.
    static func answer(_ error: S3Error, logger: Logger) -> APIError {
        if error == .unavailable {
            logger.warning("artifact storage unavailable", metadata: ["error": "\(error)"])
            return APIError.unavailable("artifact storage is unavailable")
        }
        logger.error("artifact storage refused a request", metadata: ["error": "\(error)"])
        return APIError(.badGateway, "artifact storage refused the request")
    }
}

extension RegistryEvent.EventType {
    /// An artifact was stored or removed; the payload is its manifest with `op` (`put` or `delete`).
    static let artifactUpdate: RegistryEvent.EventType = "artifact.update"
}
