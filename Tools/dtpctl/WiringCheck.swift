import DTPHTTP
import Foundation
import Logging

/// Runs each store's check concurrently, each bounded by a timeout, and collects the results in a
/// fixed order.
struct WiringCheck: Sendable {
    let environment: [String: String]
    let timeout: Duration

    /// A store's check: nil when the store is not configured, else the work, returning the server's
    /// version and what was verified.
    typealias Probe = @Sendable (HTTPClient) async throws -> (version: String?, detail: String)

    struct NotConfigured: Error {
        let reason: String
    }

    static let stores = ["postgres", "influxdb", "s3", "neo4j", "mqtt"]

    func probe(for store: String) throws -> Probe {
        switch store {
        case "postgres": return try PostgresCheck.probe(environment)
        case "influxdb": return try InfluxCheck.probe(environment)
        case "s3": return try S3Check.probe(environment)
        case "neo4j": return try Neo4jCheck.probe(environment)
        default: return try MQTTCheck.probe(environment)
        }
    }

    func run() async -> [StoreCheckResult] {
        let http: HTTPClient
        do {
            http = try HTTPClient(configuration: .init(connectTimeout: .seconds(5), timeout: timeout))
        } catch {
            return Self.stores.map {
                StoreCheckResult(store: $0, status: .fail, latencyMs: nil, version: nil, detail: "\(error)")
            }
        }
        let results = await withTaskGroup(of: StoreCheckResult.self) { group in
            for store in Self.stores {
                group.addTask { await check(store, http: http) }
            }
            var byStore: [String: StoreCheckResult] = [:]
            for await result in group { byStore[result.store] = result }
            return Self.stores.compactMap { byStore[$0] }
        }
        await http.shutdown()
        return results
    }

    func check(_ store: String, http: HTTPClient) async -> StoreCheckResult {
        let probe: Probe
        do {
            probe = try self.probe(for: store)
        } catch let skip as NotConfigured {
            return StoreCheckResult(store: store, status: .skip, latencyMs: nil, version: nil, detail: skip.reason)
        } catch {
            return StoreCheckResult(store: store, status: .fail, latencyMs: nil, version: nil, detail: "\(error)")
        }
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let (version, detail) = try await withDeadline(timeout) { try await probe(http) }
            return StoreCheckResult(
                store: store, status: .ok, latencyMs: Self.milliseconds(clock.now - start), version: version,
                detail: detail)
        } catch {
            return StoreCheckResult(
                store: store, status: .fail, latencyMs: Self.milliseconds(clock.now - start), version: nil,
                detail: "\(error)")
        }
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }

    struct TimedOut: Error, CustomStringConvertible {
        let limit: Duration
        var description: String { "no answer within \(limit)" }
    }

    func withDeadline<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: limit)
                throw TimedOut(limit: limit)
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }
}

/// A check found something other than what it wrote.
struct Mismatch: Error, CustomStringConvertible {
    let description: String
}
