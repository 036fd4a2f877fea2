import DTPPostgres
import DTPTestSupport
import Foundation
import Testing

@Suite("LISTEN/NOTIFY")
struct PostgresListenTests {
    @Test("a NOTIFY reaches the listener with its channel, payload and sender")
    func notifyReachesListener() async throws {
        let pool = try PG.pool("listen", size: 2)
        let channel = "dtp_test_" + UUID().uuidString.prefix(8).lowercased()
        let notifications = try await pool.listen(channel)
        let pid = try await pool.withConnection { connection in
            try await connection.notify(channel, payload: "héllo 1")
            return connection.backendPID
        }
        try await pool.notify(channel, payload: "second")
        var iterator = notifications.makeAsyncIterator()
        let first = try #require(await iterator.next())
        #expect(first.channel == channel)
        #expect(first.payload == "héllo 1")
        #expect(first.pid == pid)
        #expect(await iterator.next()?.payload == "second")
        await pool.close()
        #expect(await iterator.next() == nil)
    }

    @Test("cancelling the consumer closes the listener's connection")
    func cancellationStopsListener() async throws {
        let pool = try PG.pool("listen-cancel", size: 1)
        let name = try #require(pool.configuration.applicationName)
        let channel = "dtp_test_" + UUID().uuidString.prefix(8).lowercased()
        let notifications = try await pool.listen(channel)
        let consumer = Task {
            var received = 0
            for await _ in notifications { received += 1 }
            return received
        }
        try await pool.notify(channel, payload: "one")
        #expect(try await PG.waitForSessionCount(name, toBe: 2) == 2)
        consumer.cancel()
        _ = await consumer.value
        #expect(try await PG.waitForSessionCount(name, toBe: 1) == 1)
        await pool.close()
        #expect(try await PG.waitForSessionCount(name, toBe: 0) == 0)
    }

    @Test("dropping the sequence closes the listener's connection")
    func droppingStopsListener() async throws {
        let pool = try PG.pool("listen-drop", size: 1)
        let name = try #require(pool.configuration.applicationName)
        do {
            let notifications = try await pool.listen("dtp_test_" + UUID().uuidString.prefix(8).lowercased())
            _ = notifications
            #expect(try await PG.waitForSessionCount(name, toBe: 1) == 1)
        }
        #expect(try await PG.waitForSessionCount(name, toBe: 0) == 0)
        await pool.close()
    }
}
