import DTPHTTP
import DTPModel
import DTPPostgres
import DTPServiceKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Synchronization

/// `GET /api/healthz` (the earlier shape plus the services' badges) and the last-data endpoints.
struct PortalController: Sendable {
    let pool: PostgresPool
    let health: HealthChecker
    let influxConfigured: Bool
    let lastData: LastDataCache
    let index: AccessIndex
    /// The latest database check, reused for a second so that polling badges cannot load Postgres.
    let dbCheck = DatabaseCheck()

    func addRoutes(to router: Router<GatewayContext>) {
        router.get("api/healthz", use: healthz)
        router.get("api/last-data/my", use: lastDataMine)
        router.get("api/last-data/cached", use: lastDataCached)
    }

    /// `{ok, db, influx_configured, cron, ts, services: [{name, ok, latency_ms, checked_at}]}`.
    @Sendable func healthz(_ request: Request, context: GatewayContext) async throws -> Response {
        let db = await dbCheck.isUp(pool)
        let body: JSONValue = [
            "ok": .bool(db), "db": .bool(db), "influx_configured": .bool(influxConfigured),
            "cron": .bool(health.isRunning), "ts": .string(Timestamp.now().iso8601),
            "services": .array(health.results.map(\.json)),
        ]
        return JSONBody.response(body, status: db ? .ok : .serviceUnavailable)
    }

    /// `GET /api/last-data/my`: the user's granted twins, asking the ingestor for what is not fresh.
    @Sendable func lastDataMine(_ request: Request, context: GatewayContext) async throws -> Response {
        let user = try context.requireUser()
        let twins = index.snapshot.grantedTwins(of: user).sorted()
        return JSONBody.response(await lastData.answer(for: twins, refresh: true))
    }

    /// `GET /api/last-data/cached`: the same, from the cache only where it holds the twin.
    @Sendable func lastDataCached(_ request: Request, context: GatewayContext) async throws -> Response {
        let user = try context.requireUser()
        let twins = index.snapshot.grantedTwins(of: user).sorted()
        return JSONBody.response(await lastData.answer(for: twins, refresh: false))
    }
}

/// Last-data answers of the ingestor (`GET /api/last-data?twin=…`), cached per twin for a few seconds.
final class LastDataCache: Sendable {
    struct Entry: Sendable {
        var items: [JSONValue]
        var fetched: Date
    }

    let ingestor: Upstream
    let ttl: TimeInterval
    private let entries = Mutex<[String: Entry]>([:])

    init(ingestor: Upstream, ttl: Duration) {
        self.ingestor = ingestor
        self.ttl = Double(ttl.components.seconds)
    }

    /// `{items: [{twin_id, last_ts, source, stream, topic, messages}], count, ingestor}`; `ingestor` is
    /// `ok`, `cached` or `unreachable` (then the twins without cached data have no items).
    func answer(for twins: [String], refresh: Bool) async -> JSONValue {
        let now = Date()
        let cached = entries.withLock { $0 }
        let stale = twins.filter { twin in
            guard let entry = cached[twin] else { return true }
            return refresh && now.timeIntervalSince(entry.fetched) > ttl
        }
        var status = "cached"
        if !stale.isEmpty {
            status = await fetch(stale) ? "ok" : "unreachable"
        }
        let current = entries.withLock { $0 }
        let items = twins.flatMap { current[$0]?.items ?? [] }
        return ["items": .array(items), "count": .int(items.count), "ingestor": .string(status)]
    }

    private func fetch(_ twins: [String]) async -> Bool {
        var fetched: [String: [JSONValue]] = Dictionary(uniqueKeysWithValues: twins.map { ($0, []) })
        for chunk in stride(from: 0, to: twins.count, by: 50).map({ Array(twins[$0..<min($0 + 50, twins.count)]) }) {
            let query = chunk.map { "twin=" + AdminController.escape($0) }.joined(separator: "&")
            guard let response = try? await ingestor.send(.get, "/api/last-data?" + query, timeout: .seconds(5)),
                response.status == 200, case .array(let rows)? = try? JSONValue(jsonText: response.bodyText)
            else { return false }
            for row in rows {
                guard let twin = row["twin_id"]?.stringValue, fetched[twin] != nil else { continue }
                let stream = row["stream"] ?? .null
                fetched[twin]?.append([
                    "twin_id": .string(twin), "last_ts": row["last_seen"] ?? .null, "source": stream,
                    "stream": stream, "topic": row["topic"] ?? .null, "messages": row["messages"] ?? .null,
                ])
            }
        }
        let now = Date()
        entries.withLock { table in
            for (twin, items) in fetched { table[twin] = Entry(items: items, fetched: now) }
        }
        return true
    }
}

/// Whether Postgres answers, checked at most once a second.
final class DatabaseCheck: Sendable {
    private let last = Mutex<(up: Bool, at: ContinuousClock.Instant)?>(nil)

    func isUp(_ pool: PostgresPool) async -> Bool {
        let now = ContinuousClock.now
        if let cached = last.withLock({ $0 }), now - cached.at < .seconds(1) { return cached.up }
        let up = (try? await pool.query("SELECT 1")) != nil
        last.withLock { $0 = (up, now) }
        return up
    }
}
