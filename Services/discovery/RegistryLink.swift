import DTPHTTP
import DTPModel
import DTPServiceKit
import Foundation

/// The registry cannot be reached or cannot take writes now (no answer, 5xx, 429, or our token refused):
/// the change stays queued and is retried.
struct RegistryUnavailable: Error, CustomStringConvertible {
    var description: String
}

/// The registry's calls that discovery makes, over DTPHTTP with the discovery service token.
struct RegistryLink: Sendable {
    let client: HTTPClient
    let baseURL: String
    let token: Secret

    /// The answer to one write: the status and, on failure, the registry's `detail`.
    struct WriteResult: Sendable {
        var status: Int
        var detail: String?
    }

    /// One item of a bulk answer.
    struct BulkItem: Sendable {
        var id: String?
        var status: Int
        var detail: String?
    }

    /// Every twin in the registry, page by page.
    func allTwins() async throws -> [Twin] {
        var twins: [Twin] = []
        var next: String? = "\(baseURL)/api/registry/twins?limit=10000"
        while let url = next {
            let response = try await send(HTTPRequest(url: url, headers: headers()))
            guard response.status == 200 else { throw unexpected(response) }
            twins += try JSONDecoder().decode([Twin].self, from: response.body)
            next = response.headers.first(name: "Link").flatMap(Self.nextLink).map { baseURL + $0 }
        }
        return twins
    }

    /// The twin `id`, or nil when the registry has none.
    func twin(_ id: String) async throws -> Twin? {
        let response = try await send(HTTPRequest(url: twinURL(id), headers: headers()))
        if response.status == 404 { return nil }
        guard response.status == 200 else { throw unexpected(response) }
        return try JSONDecoder().decode(Twin.self, from: response.body)
    }

    /// Upserts `body`, on condition that the twin is still at `etag` (or, with nil, does not exist yet).
    func upsert(_ body: JSONValue, etag: String?) async throws -> WriteResult {
        var headers = headers()
        headers.add(name: "Content-Type", value: "application/json")
        if let etag { headers.add(name: "If-Match", value: etag) } else { headers.add(name: "If-None-Match", value: "*") }
        let request = HTTPRequest(
            method: .post, url: "\(baseURL)/api/registry/twins", headers: headers, body: Data(try body.jsonText().utf8))
        return Self.result(try await send(request))
    }

    /// Soft-deletes twin `id` (status `deprecated`), on condition that it is still at `etag`.
    func softDelete(_ id: String, etag: String) async throws -> WriteResult {
        var headers = headers()
        headers.add(name: "If-Match", value: etag)
        return Self.result(try await send(HTTPRequest(method: .delete, url: twinURL(id) + "?soft=true", headers: headers)))
    }

    /// Upserts up to 1,000 twins in one transaction; one result per item, in order.
    func bulk(_ bodies: [JSONValue]) async throws -> [BulkItem] {
        var headers = headers()
        headers.add(name: "Content-Type", value: "application/json")
        let request = HTTPRequest(
            method: .post, url: "\(baseURL)/api/registry/twins/bulk", headers: headers,
            body: Data(try JSONValue.array(bodies).jsonText().utf8))
        let response = try await send(request)
        guard response.status == 200 else { throw unexpected(response) }
        let answer = try JSONDecoder().decode(JSONValue.self, from: response.body)
        guard let results = answer["results"]?.arrayValue, results.count == bodies.count else {
            throw RegistryUnavailable(description: "the bulk answer does not hold one result per twin")
        }
        return results.map {
            BulkItem(id: $0["@id"]?.stringValue, status: $0["status"]?.intValue ?? 0, detail: $0["detail"]?.stringValue)
        }
    }

    private func headers() -> HTTPHeaders {
        ["Authorization": "Bearer \(token.value)", "Accept": "application/json"]
    }

    private func twinURL(_ id: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/?#")
        return "\(baseURL)/api/registry/twins/\(id.addingPercentEncoding(withAllowedCharacters: allowed) ?? id)"
    }

    /// Sends `request`; a missing answer, 5xx, 429, 401 and 403 mean the registry is unavailable to us.
    private func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let response: HTTPResponse
        do {
            response = try await client.execute(request)
        } catch let error as HTTPClientError {
            throw RegistryUnavailable(description: "\(error)")
        }
        if response.status >= 500 || [401, 403, 429].contains(response.status) { throw unexpected(response) }
        return response
    }

    private func unexpected(_ response: HTTPResponse) -> RegistryUnavailable {
        RegistryUnavailable(description: "HTTP \(response.status): \(Self.detail(of: response) ?? "")")
    }

    private static func result(_ response: HTTPResponse) -> WriteResult {
        WriteResult(status: response.status, detail: response.isSuccess ? nil : detail(of: response))
    }

    private static func detail(of response: HTTPResponse) -> String? {
        (try? JSONDecoder().decode(JSONValue.self, from: response.body))?["detail"]?.stringValue
            ?? String(response.bodyText.prefix(200))
    }

    /// The path of `<…>; rel="next"`.
    static func nextLink(_ header: String) -> String? {
        for part in header.split(separator: ",") where part.contains("rel=\"next\"") {
            guard let open = part.firstIndex(of: "<"), let close = part.firstIndex(of: ">") else { continue }
            return String(part[part.index(after: open)..<close])
        }
        return nil
    }
}
