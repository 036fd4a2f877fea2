@testable import DTPAuth
import DTPHTTP
import DTPModel
import Foundation
import Testing

@testable import PortalGateway

@Suite("Login and tokens")
struct TokenTests {
    @Test("login, me, refresh rotation, reuse detection, logout, forged and expired tokens, registry accepts")
    func lifecycle() async throws {
        try await GatewayHarness.with { gateway in
            // Earlier shapes: 400 per field, 401 with the earlier detail.
            let missing = try await gateway.send(.post, "/api/token/", json: ["username": "x"])
            #expect(missing.status == 400)
            #expect(try GatewayHarness.json(missing)["password"] == ["This field is required."])
            let wrong = try await gateway.send(
                .post, "/api/token/", json: ["username": .string(GatewayHarness.demo.0), "password": "nope-nope"])
            #expect(wrong.status == 401)
            #expect(try GatewayHarness.json(wrong)["detail"] == "No active account found with the given credentials")

            let login = try await gateway.send(
                .post, "/api/token/",
                json: ["username": .string(GatewayHarness.demo.0), "password": .string(GatewayHarness.demo.1)])
            #expect(login.status == 200)
            let cookie = try #require(login.headers.first(name: "Set-Cookie"))
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
            let pair = try GatewayHarness.json(login)
            let access = try #require(pair["access"]?.stringValue)
            let refresh = try #require(pair["refresh"]?.stringValue)

            let me = try GatewayHarness.json(try await gateway.send(.get, "/api/me/", token: access))
            #expect(me["username"] == .string(GatewayHarness.demo.0))
            #expect(me["is_staff"] == false && me["is_superuser"] == false)
            #expect(me["id"]?.intValue != nil && me["email"] != nil)

            // The registry verifies the gateway's access tokens with the same secret.
            let direct = try await gateway.client.execute(
                HTTPRequest(
                    url: gateway.registryURL + "/api/registry/twins", headers: ["Authorization": "Bearer \(access)"]))
            #expect(direct.status == 200)

            // Rotation: a new pair; the old refresh token then counts as reuse and revokes the family.
            let rotated = try await gateway.send(.post, "/api/token/refresh/", json: ["refresh": .string(refresh)])
            #expect(rotated.status == 200)
            let second = try GatewayHarness.json(rotated)
            let access2 = try #require(second["access"]?.stringValue)
            let refresh2 = try #require(second["refresh"]?.stringValue)
            #expect(refresh2 != refresh)
            #expect(try await gateway.send(.get, "/api/me/", token: access2).status == 200)
            let replay = try await gateway.send(.post, "/api/token/refresh/", json: ["refresh": .string(refresh)])
            #expect(replay.status == 401)
            #expect(try await gateway.send(.post, "/api/token/refresh/", json: ["refresh": .string(refresh2)]).status == 401)
            #expect(try await gateway.send(.get, "/api/me/", token: access2).status == 401)
            // An access token is no refresh token.
            let fresh = try await gateway.login(GatewayHarness.demo)
            #expect(try await gateway.send(.post, "/api/token/refresh/", json: ["refresh": .string(fresh.access)]).status == 401)

            // Logout revokes the session at once, access and refresh alike.
            let logout = try await gateway.send(.post, "/api/logout", token: fresh.access)
            #expect(logout.status == 200)
            #expect(logout.headers.first(name: "Set-Cookie")?.contains("Max-Age=0") == true)
            #expect(try await gateway.send(.get, "/api/me/", token: fresh.access).status == 401)
            #expect(try await gateway.send(.post, "/api/token/refresh/", json: ["refresh": .string(fresh.refresh)]).status == 401)
            #expect(try await gateway.send(.post, "/api/logout").status == 401)

            // alg none, another key, expired: refused.
            let claims = AccessTokenClaims.access(userID: Int64(me["id"]!.intValue!))
            let payload = HS256Signer.base64URL(try JSONEncoder().encode(claims))
            let none = HS256Signer.base64URL(Data(#"{"alg":"none","typ":"JWT"}"#.utf8)) + "." + payload + "."
            #expect(try await gateway.send(.get, "/api/me/", token: none).status == 401)
            let otherKey = try HS256Signer(secret: String(repeating: "k", count: 40)).sign(claims)
            #expect(try await gateway.send(.get, "/api/me/", token: otherKey).status == 401)
            let issuer = try TokenIssuer(
                secret: GatewayHarness.jwtSecret, accessLifetime: .seconds(300), refreshLifetime: .seconds(600))
            let user = User(id: claims.userID, username: GatewayHarness.demo.0, email: "", isStaff: false, isSuperuser: false)
            let (expired, _) = try issuer.issue("access", for: user, session: UUID().uuidString.lowercased(),
                now: Date().addingTimeInterval(-600))
            #expect(try await gateway.send(.get, "/api/me/", token: expired).status == 401)
            let (valid, _) = try issuer.issue("access", for: user, session: UUID().uuidString.lowercased())
            #expect(try await gateway.send(.get, "/api/me/", token: valid).status == 200)
            let anonymous = try await gateway.send(.get, "/api/me/")
            #expect(anonymous.status == 401)
            #expect(anonymous.headers.first(name: "WWW-Authenticate") == #"Bearer realm="api""#)
        }
    }

    @Test("failed logins are throttled per username and per address, without holding up others")
    func throttling() async throws {
        try await GatewayHarness.with(configure: {
            $0.loginFailuresPerUser = 3
            $0.loginFailuresPerAddress = 8
        }) { gateway in
            for _ in 0..<3 {
                let response = try await gateway.send(
                    .post, "/api/token/", json: ["username": .string(GatewayHarness.demo.0), "password": "wrong-one"])
                #expect(response.status == 401)
            }
            let blocked = try await gateway.send(
                .post, "/api/token/",
                json: ["username": .string(GatewayHarness.demo.0), "password": .string(GatewayHarness.demo.1)])
            #expect(blocked.status == 429)
            let retry = try #require(blocked.headers.first(name: "Retry-After").flatMap { Int($0) })
            #expect(retry >= 1)
            // Another account from the same address still logs in.
            _ = try await gateway.login(GatewayHarness.admin)
            // Per address: unknown names fill the address's budget.
            for index in 0..<5 {
                _ = try await gateway.send(
                    .post, "/api/token/", json: ["username": .string("ghost\(index)@x"), "password": "wrong-one"])
            }
            let byAddress = try await gateway.send(
                .post, "/api/token/",
                json: ["username": .string(GatewayHarness.admin.0), "password": .string(GatewayHarness.admin.1)])
            #expect(byAddress.status == 429)
        }
    }

    @Test("bcrypt hashes at cost 10 or more and verifies in constant-time comparison")
    func passwordHashing() async throws {
        let hasher = PasswordHasher(cost: 4)
        #expect(hasher.cost == 10)
        let hash = try await hasher.hash("correct horse")
        #expect(hash.hasPrefix("$2b$10$"))
        #expect(await hasher.verify("correct horse", against: hash))
        #expect(!(await hasher.verify("correct horsf", against: hash)))
        #expect(!(await hasher.verify("x", against: "not-a-hash")))
        #expect(try await hasher.hash("correct horse") != hash)
    }
}
