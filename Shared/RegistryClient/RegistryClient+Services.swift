import DTPHTTP
import DTPModel

extension RegistryClient {
    /// `POST /api/registry/services`: registers or updates a service, keyed by (tenant, name); answers the
    /// stored service.
    @discardableResult
    public func upsertService(_ service: JSONValue) async throws(RegistryClientError) -> JSONValue {
        try await call(.post, "/api/registry/services", json: service).0
    }

    /// `GET /api/registry/services`: every registered service.
    public func services() async throws(RegistryClientError) -> [JSONValue] {
        guard case .array(let services) = try await call(.get, "/api/registry/services").0 else {
            throw .malformed("service list is not a JSON array")
        }
        return services
    }
}
