import DTPPostgres
import DTPAuth
import DTPHTTP
import DTPModel
import Foundation
import Testing

@Suite("Authentication")
struct AuthTests {
    @Test("no token: 401 with the earlier detail and WWW-Authenticate; open endpoints stay open")
    func missingToken() async throws {
        try await RegistryHarness.with { registry in
            for (method, path) in [(HTTPMethod.get, "/api/registry/twins"), (.post, "/api/registry/twins"),
                (.get, "/api/registry/twins/dt:X"), (.get, "/api/registry/events")]
            {
                let response = try await registry.send(method, path, body: method == .post ? "{}" : nil, authorized: false)
                #expect(response.status == 401)
                #expect(try RegistryHarness.json(response) == ["detail": "Authentication credentials were not provided."])
                #expect(response.headers.first(name: "WWW-Authenticate") == #"Bearer realm="api""#)
            }
            for path in ["/healthz", "/readyz", "/metrics", "/api/registry/public/twins"] {
                #expect(try await registry.send(.get, path, authorized: false).status == 200, "\(path)")
            }
        }
    }

    @Test("access JWTs: staff ones pass and are recorded; non-staff ones get 403; forged, expired, refresh and alg-none ones fail")
    func accessTokens() async throws {
        try await RegistryHarness.with { registry in
            let signer = try HS256Signer(secret: RegistryHarness.jwtSecret)
            let valid = try signer.sign(AccessTokenClaims.access(userID: 42, isStaff: true))
            let created = try await registry.send(
                .post, "/api/registry/twins", body: twinBody("dt:J"), headers: ["Authorization": "Bearer \(valid)"])
            #expect(created.status == 201)
            let user = try signer.sign(AccessTokenClaims.access(userID: 43))
            for (method, path) in [(HTTPMethod.get, "/api/registry/twins"), (.get, "/api/registry/twins/dt:J"),
                                   (.delete, "/api/registry/twins/dt:J"), (.get, "/api/registry/events")] {
                let refused = try await registry.send(
                    method, path, headers: ["Authorization": "Bearer \(user)"], authorized: false)
                #expect(refused.status == 403, "\(method) \(path)")
                #expect(try RegistryHarness.json(refused)["detail"]?.stringValue?.contains("gateway") == true)
            }
            let history = try RegistryHarness.json(try await registry.send(.get, "/api/registry/twins/dt:J/history"))
            #expect(history[0]?["actor"] == "user:42")

            let other = try HS256Signer(secret: String(repeating: "o", count: 40))
            let expired = try signer.sign(
                AccessTokenClaims(exp: Int64(Date().timeIntervalSince1970) - 10, iat: 0, userID: 1))
            let refresh = try signer.sign(
                AccessTokenClaims(
                    tokenType: "refresh", exp: Int64(Date().timeIntervalSince1970) + 100,
                    iat: Int64(Date().timeIntervalSince1970), userID: 1))
            let payload = valid.split(separator: ".")[1]
            let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.\(payload)."
            for token in [try other.sign(AccessTokenClaims.access(userID: 1)), expired, refresh, none, "garbage", ""] {
                let response = try await registry.send(
                    .get, "/api/registry/twins", headers: ["Authorization": "Bearer \(token)"], authorized: false)
                #expect(response.status == 401, "\(token.prefix(20))")
            }
        }
    }

    @Test("HS256Signer refuses short keys and verifies its own tokens")
    func signer() throws {
        #expect(throws: AuthError.weakKey) { try HS256Signer(secret: "too-short") }
        let signer = try HS256Signer(secret: String(repeating: "s", count: 32))
        let token = try signer.sign(AccessTokenClaims.access(userID: 7))
        #expect(try signer.verifyAccessToken(token).userID == 7)
        let tokens = ServiceTokens(["gateway": "abc", "ingestor": "def"])
        #expect(tokens.service(for: "def") == "ingestor")
        #expect(tokens.service(for: "de") == nil)
    }
}
