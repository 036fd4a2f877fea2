import DTPHTTP
import DTPServiceKit
import Foundation

/// Another suite service the gateway calls with its own service token.
struct Upstream: Sendable {
    let client: HTTPClient
    let baseURL: String
    let token: String

    /// Headers with the service token, plus `extra`.
    func headers(_ extra: [(String, String)] = []) -> HTTPHeaders {
        var headers = HTTPHeaders()
        if !token.isEmpty { headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in extra { headers.replaceOrAdd(name: name, value: value) }
        return headers
    }

    /// Sends `method` to `pathAndQuery`; throws ``HTTPClientError`` when there is no answer.
    func send(
        _ method: HTTPMethod, _ pathAndQuery: String, headers extra: [(String, String)] = [], body: Data? = nil,
        timeout: Duration = .seconds(30)
    ) async throws -> DTPHTTP.HTTPResponse {
        try await client.execute(
            DTPHTTP.HTTPRequest(
                method: method, url: baseURL + pathAndQuery, headers: headers(extra), body: body,
                connectTimeout: .seconds(3), timeout: .after(timeout)))
    }
}
