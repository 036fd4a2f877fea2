import DTPHTTP
import DTPModel
import Foundation

/// The list filters of `GET /api/registry/twins`; nil leaves a filter out.
public struct TwinQuery: Sendable, Hashable {
    /// Only twins of this tenant.
    public var tenant: String?
    /// Only twins in this lifecycle status.
    public var status: String?
    /// Only twins with this domain.
    public var domain: String?
    /// Only twins changed at or after this time.
    public var updatedSince: Timestamp?
    /// A substring of the id or name.
    public var text: String?
    /// The page size (the registry's maximum when nil).
    public var pageSize: Int?

    /// A query with the given filters.
    public init(
        tenant: String? = nil, status: String? = nil, domain: String? = nil, updatedSince: Timestamp? = nil,
        text: String? = nil, pageSize: Int? = nil
    ) {
        self.tenant = tenant
        self.status = status
        self.domain = domain
        self.updatedSince = updatedSince
        self.text = text
        self.pageSize = pageSize
    }

    var items: [(String, String)] {
        var items: [(String, String)] = []
        if let tenant { items.append(("tenant", tenant)) }
        if let status { items.append(("status", status)) }
        if let domain { items.append(("domain", domain)) }
        if let updatedSince { items.append(("updated_since", updatedSince.iso8601)) }
        if let text { items.append(("q", text)) }
        if let pageSize { items.append(("limit", String(pageSize))) }
        return items
    }
}

/// The answer to an upsert: whether the twin is new, and the twin as stored.
public struct TwinUpsert: Sendable, Hashable {
    /// True for 201 (created), false for 200 (an existing twin changed).
    public var created: Bool
    /// The stored twin, with `version` and `etag`.
    public var twin: JSONValue
}

/// One item of a bulk upsert's answer.
public struct BulkUpsertItem: Sendable, Hashable {
    /// The twin's id, when the item had one.
    public var id: String?
    /// 201 created, 200 updated, or the error status of this item.
    public var status: Int
    /// The item's error, when it failed.
    public var detail: String?
    /// The stored version, when it succeeded.
    public var version: Int?

    /// True for a stored item.
    public var succeeded: Bool { status == 200 || status == 201 }
}

extension RegistryClient {
    /// `GET /api/registry/twins/{id}`; nil when the registry has no such twin.
    public func twin(_ id: String) async throws(RegistryClientError) -> JSONValue? {
        do {
            return try await call(.get, "/api/registry/twins/\(Self.pathSegment(id))").0
        } catch where error.isNotFound {
            return nil
        }
    }

    /// Every twin matching `query`, following the registry's `Link: rel="next"` pages.
    public func twins(_ query: TwinQuery = TwinQuery()) async throws(RegistryClientError) -> [JSONValue] {
        var twins: [JSONValue] = []
        var next: String? = url("/api/registry/twins", query: query.items)
        while let page = next {
            let response = try await execute(.get, url: page)
            guard response.isSuccess else { throw .from(response) }
            guard case .array(let items)? = try? JSONValue(jsonText: response.bodyText) else {
                throw .malformed("twin list is not a JSON array")
            }
            twins += items
            next = Self.nextLink(response.headers.first(name: "Link")).map { $0.hasPrefix("/") ? baseURL + $0 : $0 }
        }
        return twins
    }

    /// `POST /api/registry/twins`: creates or updates `twin`; with `onlyIfNew` (`If-None-Match: *`) an
    /// existing twin throws a 412 error instead of changing.
    public func upsert(_ twin: JSONValue, onlyIfNew: Bool = false) async throws(RegistryClientError) -> TwinUpsert {
        let headers: HTTPHeaders = onlyIfNew ? ["If-None-Match": "*"] : [:]
        let (body, response) = try await call(.post, "/api/registry/twins", json: twin, headers: headers)
        return TwinUpsert(created: response.status == 201, twin: body)
    }

    /// `POST /api/registry/twins/bulk`: up to 1,000 twins in one transaction, an answer per item in order.
    public func bulkUpsert(_ twins: [JSONValue]) async throws(RegistryClientError) -> [BulkUpsertItem] {
        let (body, _) = try await call(.post, "/api/registry/twins/bulk", json: .array(twins))
        guard case .array(let results)? = body["results"] else { throw .malformed("bulk answer has no results") }
        return results.map { item in
            BulkUpsertItem(
                id: item["@id"]?.stringValue, status: item["status"]?.intValue ?? 0,
                detail: item["detail"]?.stringValue, version: item["version"]?.intValue)
        }
    }

    /// `PATCH /api/registry/twins/{id}` with a JSON Merge Patch (RFC 7396); with `ifMatch`, a twin whose
    /// ETag differs throws a 412 error. Answers the patched twin.
    public func mergePatch(
        _ id: String, _ patch: JSONValue, ifMatch: String? = nil
    ) async throws(RegistryClientError) -> JSONValue {
        var headers: HTTPHeaders = ["Content-Type": "application/merge-patch+json"]
        if let ifMatch { headers.add(name: "If-Match", value: ifMatch) }
        return try await call(.patch, "/api/registry/twins/\(Self.pathSegment(id))", json: patch, headers: headers).0
    }

    /// `DELETE /api/registry/twins/{id}`: `soft` sets the status to `deprecated`, otherwise the twin is
    /// deleted. A missing twin throws a 404 error.
    public func deleteTwin(_ id: String, soft: Bool, ifMatch: String? = nil) async throws(RegistryClientError) {
        var headers: HTTPHeaders = [:]
        if let ifMatch { headers.add(name: "If-Match", value: ifMatch) }
        _ = try await call(
            .delete, "/api/registry/twins/\(Self.pathSegment(id))", query: soft ? [("soft", "true")] : [],
            headers: headers)
    }

    /// The target of `Link: <...>; rel="next"`, if the header has one.
    static func nextLink(_ header: String?) -> String? {
        guard let header else { return nil }
        for part in header.split(separator: ",") {
            let pieces = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let target = pieces.first, target.hasPrefix("<"), target.hasSuffix(">"),
                pieces.dropFirst().contains(where: { $0.replacingOccurrences(of: " ", with: "") == "rel=\"next\"" })
            else { continue }
            return String(target.dropFirst().dropLast())
        }
        return nil
    }
}
