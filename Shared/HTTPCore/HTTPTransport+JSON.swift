#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension HTTPTransport {
    /// Sends `body` as JSON and decodes a 2xx response's JSON body as `Response`.
    ///
    /// Throws ``HTTPStatusError`` (status and body text) for a non-2xx response, ``HTTPClientError`` when
    /// there is no response, and the decoder's error when the body does not decode.
    public func json<Response: Decodable>(
        _ method: HTTPMethod, url: String, body: some Encodable, headers: HTTPHeaders = [:],
        as type: Response.Type = Response.self, encoder: JSONEncoder = JSONEncoder(),
        decoder: JSONDecoder = JSONDecoder()
    ) async throws -> Response {
        let data = try encoder.encode(body)
        let response = try await jsonResponse(method, url: url, body: data, headers: headers)
        return try decoder.decode(Response.self, from: response.body)
    }

    /// Sends a request without a body and decodes a 2xx response's JSON body as `Response`.
    public func json<Response: Decodable>(
        _ method: HTTPMethod, url: String, headers: HTTPHeaders = [:], as type: Response.Type = Response.self,
        decoder: JSONDecoder = JSONDecoder()
    ) async throws -> Response {
        let response = try await jsonResponse(method, url: url, body: nil, headers: headers)
        return try decoder.decode(Response.self, from: response.body)
    }

    /// Sends `body` as JSON where the response body does not matter; throws ``HTTPStatusError`` on
    /// non-2xx. Returns the response for its headers.
    @discardableResult
    public func json(
        _ method: HTTPMethod, url: String, body: some Encodable, headers: HTTPHeaders = [:],
        encoder: JSONEncoder = JSONEncoder()
    ) async throws -> HTTPResponse {
        try await jsonResponse(method, url: url, body: try encoder.encode(body), headers: headers)
    }

    private func jsonResponse(
        _ method: HTTPMethod, url: String, body: Data?, headers: HTTPHeaders
    ) async throws -> HTTPResponse {
        var headers = headers
        if !headers.contains(name: "Accept") { headers.add(name: "Accept", value: "application/json") }
        if body != nil, !headers.contains(name: "Content-Type") {
            headers.add(name: "Content-Type", value: "application/json")
        }
        let response = try await execute(HTTPRequest(method: method, url: url, headers: headers, body: body))
        return try response.requireSuccess()
    }
}
