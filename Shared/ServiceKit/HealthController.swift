#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import HTTPTypes
import Hummingbird
import Prometheus

/// `/healthz`, `/readyz` and `/metrics`, which every DTP service serves.
public struct HealthController<Context: RequestContext>: Sendable {
    /// The service's name, in the `/healthz` answer.
    public let service: String
    /// What `/readyz` asks, all at once.
    public let checks: [ReadinessCheck]
    /// How long one check may take before it counts as failed.
    public let checkTimeout: Duration
    /// The metrics to expose.
    public let registry: PrometheusCollectorRegistry

    /// A controller for `service`.
    public init(
        service: String, checks: [ReadinessCheck], checkTimeout: Duration = .seconds(2),
        registry: PrometheusCollectorRegistry
    ) {
        self.service = service
        self.checks = checks
        self.checkTimeout = checkTimeout
        self.registry = registry
    }

    /// Adds the three routes.
    public func addRoutes(to router: Router<Context>) {
        router.get("healthz") { _, _ in
            try Self.json(["status": "ok", "service": service])
        }
        router.get("readyz") { _, _ in
            let results = await runChecks()
            let ready = results.values.allSatisfy { $0 == "ok" }
            let failing = results.filter { $0.value != "ok" }.keys.sorted()
            let body = ReadinessReport(
                ready: ready, service: service, checks: results,
                detail: ready ? nil : "not ready: " + failing.joined(separator: ", "))
            var response = try Self.json(body)
            response.status = ready ? .ok : .serviceUnavailable
            return response
        }
        router.get("metrics") { _, _ in
            var buffer: [UInt8] = []
            buffer.reserveCapacity(16 * 1024)
            registry.emit(into: &buffer)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
    }

    /// Runs every check concurrently, each bounded by ``checkTimeout``.
    func runChecks() async -> [String: String] {
        await withTaskGroup(of: (String, String).self) { group in
            for check in checks {
                group.addTask {
                    do {
                        try await Self.withTimeout(checkTimeout) { try await check.check() }
                        return (check.name, "ok")
                    } catch {
                        return (check.name, "\(error)")
                    }
                }
            }
            var results: [String: String] = [:]
            for await (name, result) in group { results[name] = result }
            return results
        }
    }

    struct ReadinessReport: Encodable {
        let ready: Bool
        let service: String
        let checks: [String: String]
        let detail: String?
    }

    struct TimedOut: Error, CustomStringConvertible {
        let after: Duration
        var description: String { "no answer within \(after)" }
    }

    static func withTimeout(_ limit: Duration, _ body: @escaping @Sendable () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: limit)
                throw TimedOut(after: limit)
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    static func json(_ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(value)
        return Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
