import DTPHTTP
import DTPModel
import DTPPostgres
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The health of one registered service, as the portal's badges show it.
struct ServiceHealth: Sendable, Hashable {
    var name: String
    var ok: Bool
    var latencyMS: Int
    var checkedAt: String

    var json: JSONValue {
        ["name": .string(name), "ok": .bool(ok), "latency_ms": .int(latencyMS), "checked_at": .string(checkedAt)]
    }
}

/// Checks, on an interval, the health URL of every service in the registry's service registry
/// (`health.url`, else `interfaces.health`), and publishes a `health` portal event when a result changes.
final class HealthChecker: ServiceLifecycle.Service, Sendable {
    let registry: Upstream
    let hub: PortalHub
    let interval: Duration
    let logger: Logger
    /// The gateway's own URL, registered as service `dtp-gateway` (tenant `platform`, as the other services register) until the registry accepts it.
    let selfURL: String?
    private let registered = Atomic<Bool>(false)
    private let state = Mutex<(results: [String: ServiceHealth], lastRun: Date?)>(([:], nil))

    init(registry: Upstream, hub: PortalHub, interval: Duration, logger: Logger, selfURL: String? = nil) {
        self.selfURL = selfURL
        self.registry = registry
        self.hub = hub
        self.interval = interval
        self.logger = logger
    }

    /// The latest results, by service name.
    var results: [ServiceHealth] { state.withLock { $0.results.values.sorted { $0.name < $1.name } } }

    /// Whether a round ran within three intervals (the earlier `cron` flag).
    var isRunning: Bool {
        state.withLock { current in
            guard let last = current.lastRun else { return false }
            return Date().timeIntervalSince(last) < 3 * Double(interval.components.seconds) + 5
        }
    }

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.registerSelf()
                await self.checkAll()
                try await Task.sleep(for: self.interval)
            }
        }
    }

    /// Registers the gateway in the service registry (an upsert by tenant and name), once it answers.
    func registerSelf() async {
        guard let selfURL, !registered.load(ordering: .relaxed) else { return }
        let body: JSONValue = [
            "name": "dtp-gateway", "tenant": "platform", "category": "UI",
            "interfaces": ["api": .string(selfURL), "health": .string(selfURL + "/healthz"), "public": true],
            "health": ["url": .string(selfURL + "/healthz"), "ready": .string(selfURL + "/readyz")],
        ]
        guard let text = try? body.jsonText(),
            let response = try? await registry.send(
                .post, "/api/registry/services", headers: [("Content-Type", "application/json")], body: Data(text.utf8),
                timeout: .seconds(5)),
            response.isSuccess
        else { return }
        registered.store(true, ordering: .relaxed)
        logger.info("registered in the service registry", metadata: ["url": "\(selfURL)"])
    }

    /// One round: every registered service, concurrently.
    func checkAll() async {
        guard let response = try? await registry.send(.get, "/api/registry/services", timeout: .seconds(5)),
            response.status == 200, case .array(let services)? = try? JSONValue(jsonText: response.bodyText)
        else {
            state.withLock { $0.lastRun = Date() }
            return
        }
        var targets: [(String, String)] = []
        for service in services {
            let name = service["name"]?.stringValue ?? service["id"]?.stringValue ?? "?"
            let url = service["health"]?["url"]?.stringValue ?? service["health"]?.stringValue
                ?? service["interfaces"]?["health"]?.stringValue
            if let url, url.hasPrefix("http://") || url.hasPrefix("https://") { targets.append((name, url)) }
        }
        let client = registry.client
        let checked = await withTaskGroup(of: ServiceHealth.self) { group in
            for (name, url) in targets {
                group.addTask {
                    let start = ContinuousClock.now
                    let ok: Bool
                    do {
                        let answer = try await client.execute(
                            DTPHTTP.HTTPRequest(url: url, connectTimeout: .seconds(2), timeout: .after(.seconds(3))))
                        ok = answer.isSuccess
                    } catch {
                        ok = false
                    }
                    let elapsed = ContinuousClock.now - start
                    let ms = Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
                    return ServiceHealth(name: name, ok: ok, latencyMS: ms, checkedAt: Timestamp.now().iso8601)
                }
            }
            var all: [ServiceHealth] = []
            for await result in group { all.append(result) }
            return all
        }
        let changed = state.withLock { current -> Bool in
            let before = current.results.mapValues(\.ok)
            current.results = Dictionary(checked.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
            current.lastRun = Date()
            return before != current.results.mapValues(\.ok)
        }
        if changed {
            let data: JSONValue = ["type": "health", "services": .array(results.map(\.json))]
            hub.publish(name: "health", data: (try? data.jsonText()) ?? "{}", tenant: nil, audience: .everyone)
        }
    }
}
