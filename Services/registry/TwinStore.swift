import DTPModel
import DTPServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// What a write requires of the twin's current version (`If-Match`, `If-None-Match: *`).
enum WritePrecondition: Sendable, Hashable {
    /// No requirement.
    case none
    /// The twin must exist with one of these entity tags; `*` matches any version.
    case ifMatch([String])
    /// The twin must not exist.
    case ifNoneMatchAny

    /// Reads the request's `If-Match` and `If-None-Match` headers.
    init(ifMatch: String?, ifNoneMatch: String?) {
        if let ifNoneMatch, ifNoneMatch.trimmingCharacters(in: .whitespaces) == "*" {
            self = .ifNoneMatchAny
        } else if let ifMatch {
            self = .ifMatch(
                ifMatch.split(separator: ",").map {
                    let tag = $0.trimmingCharacters(in: .whitespaces)
                    return tag.hasPrefix("W/") ? String(tag.dropFirst(2)) : tag
                })
        } else {
            self = .none
        }
    }

    /// Throws 412 when `current` (nil: absent) does not satisfy the precondition.
    func check(_ current: Twin?) throws(APIError) {
        switch self {
        case .none: return
        case .ifNoneMatchAny:
            if let current {
                throw APIError(.preconditionFailed, "twin \(current.id) exists (If-None-Match: *)")
            }
        case .ifMatch(let tags):
            guard let current else { throw APIError(.preconditionFailed, "twin does not exist (If-Match)") }
            if !tags.contains("*") && !tags.contains(current.etag) {
                throw APIError(.preconditionFailed, "twin has changed: its etag is \(current.etag)")
            }
        }
    }
}

/// List filters of `GET /api/registry/twins`.
struct TwinFilter: Sendable, Hashable {
    var tenant: String?
    var status: String?
    var domain: String?
    var updatedSince: Timestamp?
    var query: String?
}

/// One page of twins: the JSON array of their stored texts, ready to send (a cached page's buffer is
/// shared by every response that sends it, not copied), and the id to continue after.
struct TwinPage: Sendable {
    var body: ByteBuffer
    /// The body's length.
    var byteCount: Int
    var nextAfter: String?

    /// The page from its elements' texts already joined with commas.
    init(joined: String, nextAfter: String?) {
        var body = ByteBuffer()
        body.reserveCapacity(joined.utf8.count + 2)
        body.writeStaticString("[")
        body.writeString(joined)
        body.writeStaticString("]")
        self.body = body
        byteCount = joined.utf8.count + 2
        self.nextAfter = nextAfter
    }
}

/// The outcome of one upsert.
struct UpsertResult: Sendable {
    var twin: Twin
    /// The twin's JSON text, as stored and answered.
    var json: String
    var created: Bool
}

/// A twin version and its JSON text, as stored and answered.
struct TwinVersion: Sendable {
    var twin: Twin
    var json: String
}

/// What a GET of one twin answers: its JSON text and its entity tag.
struct TwinBody: Sendable {
    var body: ByteBuffer
    var etag: String
}

/// The twins of the registry, their history and relationships; every write also records its event.
protocol TwinStore: Sendable {
    /// Creates or replaces a twin; an upsert that changes nothing writes nothing.
    func upsert(_ draft: TwinDraft, precondition: WritePrecondition, actor: String) async throws -> UpsertResult
    /// Upserts every draft in one transaction; an invalid draft fails alone, valid ones are written.
    func bulkUpsert(_ drafts: [Result<TwinDraft, APIError>], actor: String) async throws
        -> [Result<UpsertResult, APIError>]
    /// The twin, or nil.
    func twin(id: String) async throws -> Twin?
    /// The twin's JSON and entity tag, or nil.
    func twinBody(id: String) async throws -> TwinBody?
    /// Twins matching `filter`, ordered by id, after the id `after`.
    func list(_ filter: TwinFilter, limit: Int, after: String?) async throws -> TwinPage
    /// The public fields of every twin of `tenant` (all tenants when nil), as JSON texts.
    func publicList(tenant: String?) async throws -> [String]
    /// Changes an existing twin: `change` maps the current version to the new draft. 404 when absent.
    func update(
        id: String, precondition: WritePrecondition, actor: String,
        change: @Sendable (Twin) throws -> TwinDraft
    ) async throws -> TwinVersion
    /// Deletes a twin, or marks it deprecated when `soft`. 404 when absent.
    func delete(id: String, soft: Bool, precondition: WritePrecondition, actor: String) async throws
    /// The twin's revisions, newest first, as JSON texts; nil when the twin never existed.
    func history(id: String) async throws -> [String]?
}
