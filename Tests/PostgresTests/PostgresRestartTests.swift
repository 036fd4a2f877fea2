import DTPPostgres
import DTPTestSupport
import Foundation
import Testing

@Suite("Server restart", .serialized)
struct PostgresRestartTests {
    @Test("after a server restart the same pool answers and the listener hears a new NOTIFY")
    func survivesRestart() async throws {
        let scratch = try await ScratchPostgres.start()
        do {
            try await restartScenario(scratch)
        } catch {
            await scratch.remove()
            throw error
        }
        await scratch.remove()
    }

    private func restartScenario(_ scratch: ScratchPostgres) async throws {
        let url = try scratch.url()
        let configuration = try PG.configuration("restart", url: url)
        let applicationName = try #require(configuration.applicationName)
        let pool = PostgresPool(configuration: configuration, size: 3, acquireTimeout: .seconds(20))
        let channel = "dtp_restart"
        let notifications = try await pool.listen(channel)
        var iterator = notifications.makeAsyncIterator()

        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<6 { group.addTask { try await pool.execute("SELECT pg_sleep(0.05)") } }
            try await group.waitForAll()
        }
        try await pool.notify(channel, payload: "before")
        #expect(await iterator.next()?.payload == "before")

        try await scratch.run(.restart)

        // Idle connections died with the server: the pool notices and replaces them.
        for index in 0..<5 {
            let rows = try await pool.query("SELECT $1::int8", [index])
            #expect(try rows[0].decode(Int.self, at: 0) == index)
        }
        // The listener reconnects on its own; notifications sent before it has are lost by design, so
        // keep sending until one arrives (bounded).
        let received = await withThrowingTaskGroup(of: PostgresNotification?.self) { group in
            group.addTask {
                for attempt in 0..<150 {
                    try await pool.notify(channel, payload: "after-\(attempt)")
                    try await Task.sleep(for: .milliseconds(200))
                }
                return nil
            }
            let notification = await iterator.next()
            group.cancelAll()
            return notification
        }
        #expect(received?.channel == channel)
        #expect(received?.payload.hasPrefix("after-") == true)

        await pool.close()
        #expect(try await PG.waitForSessionCount(applicationName, toBe: 0, url: url) == 0)
    }
}
