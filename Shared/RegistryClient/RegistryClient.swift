import DTPHTTP
import DTPModel
@_exported import DTPServiceRegistration
import Foundation

/// A typed client of the registry's HTTP API, for the services that write or follow the registry:
/// discovery, the gateway, the ingestor and the twin stacks.
///
/// Twins travel as ``JSONValue`` in the registry's own JSON (`@id`, `tenant`, `metadata`, `interfaces`,
/// `dependencies`, `version`, `etag`, ...), so a caller keeps every field the registry sends, including
/// ones newer than this client. Every call sends `Authorization: Bearer <token>`. Failures throw
/// ``RegistryClientError``; ``RegistryClientError/isRetryable`` tells an outage from a refusal.
///
/// ```swift
/// let registry = RegistryClient(baseURL: "http://127.0.0.1:8081", token: token, http: http)
/// let twins = try await registry.twins(TwinQuery(tenant: "demo"))
/// for try await event in registry.events(since: lastSeen) { ... }
/// ```
public struct RegistryClient: Sendable {
    /// The registry's base URL, without a trailing slash (`http://127.0.0.1:8081`).
    public let baseURL: String
    /// The HTTP client every call goes through.
    public let http: HTTPClient
    let token: String?

    /// A client of the registry at `baseURL`, authenticating with the bearer `token` (a service token or an
    /// access JWT); nil sends no credentials, which only the public endpoints accept.
    public init(baseURL: String, token: String?, http: HTTPClient) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.token = token
        self.http = http
    }

    /// Sends one request to `path` (starting with `/`) and answers the response whatever its status;
    /// throws only when there is no response.
    public func send(
        _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: Data? = nil,
        headers: HTTPHeaders = [:], timeout: HTTPRequest.Timeout = .clientDefault
    ) async throws(RegistryClientError) -> HTTPResponse {
        try await execute(method, url: url(path, query: query), body: body, headers: headers, timeout: timeout)
    }

    /// Sends one request to an absolute `url` of the registry (a pagination link, say), with the credentials.
    func execute(
        _ method: HTTPMethod, url: String, body: Data? = nil, headers: HTTPHeaders = [:],
        timeout: HTTPRequest.Timeout = .clientDefault
    ) async throws(RegistryClientError) -> HTTPResponse {
        var headers = headers
        if let token, !headers.contains(name: "Authorization") {
            headers.add(name: "Authorization", value: "Bearer \(token)")
        }
        if !headers.contains(name: "Accept") { headers.add(name: "Accept", value: "application/json") }
        if body != nil, !headers.contains(name: "Content-Type") {
            headers.add(name: "Content-Type", value: "application/json")
        }
        let request = HTTPRequest(method: method, url: url, headers: headers, body: body, timeout: timeout)
        do {
            return try await http.execute(request)
        } catch let error as HTTPClientError {
            throw .unreachable(error.description)
        } catch {
            throw .unreachable("\(error)")
        }
    }

    /// Sends a request and decodes a 2xx JSON answer; a non-2xx answer throws with the registry's detail.
    func call(
        _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], json body: JSONValue? = nil,
        headers: HTTPHeaders = [:]
    ) async throws(RegistryClientError) -> (JSONValue, HTTPResponse) {
        let data: Data?
        do {
            data = try body.map { Data(try $0.jsonText().utf8) }
        } catch {
            throw .malformed("request body does not encode: \(error)")
        }
        let response = try await send(method, path, query: query, body: data, headers: headers)
        guard response.isSuccess else { throw .from(response) }
        do {
            return (try JSONValue(jsonText: response.bodyText), response)
        } catch {
            throw .malformed("\(method) \(path): body is not JSON: \(error)")
        }
    }

    /// `baseURL + path` with the query items percent-encoded.
    func url(_ path: String, query: [(String, String)] = []) -> String {
        guard !query.isEmpty else { return baseURL + path }
        let items = query.map { "\(Self.percentEncode($0.0))=\(Self.percentEncode($0.1))" }
        return baseURL + path + (path.contains("?") ? "&" : "?") + items.joined(separator: "&")
    }

    /// Percent-encodes a query item: everything but RFC 3986's unreserved characters.
    static func percentEncode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    /// Percent-encodes a path segment, keeping `:` and `@` as RFC 3986 allows: twin ids (`dt:Lift_001`)
    /// stay readable and match the registry's routes literally.
    static func pathSegment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: segment) ?? text
    }

    private static let unreserved = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    private static let segment = unreserved.union(CharacterSet(charactersIn: ":@"))
}
