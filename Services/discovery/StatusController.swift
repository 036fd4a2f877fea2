import DTPAuth
import DTPModel
import DTPServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// `GET /status` (open, like `/readyz`) and `POST /scan` (a service token: the gateway's admin "scan"
/// calls it with its own).
struct StatusController: Sendable {
    let engine: DiscoveryEngine
    let serviceTokens: ServiceTokens

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("status") { _, _ in
            try Self.json(await engine.status())
        }
        router.post("scan") { request, context in
            guard let header = request.headers[.authorization], header.count > 7,
                header.prefix(7).lowercased() == "bearer "
            else {
                throw APIError.unauthorized("Authentication credentials were not provided.")
            }
            let token = header.dropFirst(7).trimmingCharacters(in: .whitespaces)
            guard let caller = serviceTokens.service(for: token) else {
                throw APIError.unauthorized("Given token not valid for any token type")
            }
            context.logger.info("scan requested", metadata: ["caller": "\(caller)"])
            return try Self.json(await engine.fullScan().jsonValue)
        }
    }

    private static func json(_ value: JSONValue) throws -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: try value.jsonText())))
    }
}
