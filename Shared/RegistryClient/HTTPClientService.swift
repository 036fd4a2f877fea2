import DTPHTTP
import ServiceLifecycle

/// Keeps an ``HTTPClient`` for the life of the application and shuts it down last.
public struct HTTPClientService: Service {
    /// The client.
    public let client: HTTPClient

    /// Owns `client`.
    public init(client: HTTPClient) { self.client = client }

    /// Waits for shutdown, then shuts the client down.
    public func run() async throws {
        try? await gracefulShutdown()
        await client.shutdown()
    }
}
