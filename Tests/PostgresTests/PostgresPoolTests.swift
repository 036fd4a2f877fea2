import DTPPostgres
import DTPTestSupport
import Foundation
import Testing

@Suite("PostgresPool")
struct PostgresPoolTests {
    @Test("200 concurrent queries over a pool of 4 each get their own answer")
    func concurrentQueries() async throws {
        let pool = try PG.pool("concurrent", size: 4, acquireTimeout: .seconds(60))
        let results = try await withThrowingTaskGroup(of: (Int, Int, String).self) { group in
            for index in 0..<200 {
                group.addTask {
                    let rows = try await pool.query("SELECT $1::int8 * 2, $2::text", [index, "q\(index)"])
                    return (index, try rows[0].decode(Int.self, at: 0), try rows[0].decode(String.self, at: 1))
                }
            }
            var results: [(Int, Int, String)] = []
            for try await result in group { results.append(result) }
            return results
        }
        #expect(results.count == 200)
        for (index, doubled, text) in results {
            #expect(doubled == index * 2)
            #expect(text == "q\(index)")
        }
        let name = try #require(pool.configuration.applicationName)
        #expect(try await PG.sessionCount(name) <= 4)
        await pool.close()
    }

    @Test("the server's session count is back to zero after close()")
    func noLeaks() async throws {
        let pool = try PG.pool("leaks", size: 3)
        let name = try #require(pool.configuration.applicationName)
        #expect(try await PG.sessionCount(name) == 0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<30 {
                group.addTask {
                    if index % 3 == 0 {
                        _ = await PG.error { try await pool.execute("SELECT * FROM no_such_table_\(index)") }
                    } else {
                        try await pool.execute("SELECT pg_sleep(0.01)")
                    }
                }
            }
            try await group.waitForAll()
        }
        let during = try await PG.sessionCount(name)
        #expect(during >= 1 && during <= 3)
        await pool.close()
        #expect(try await PG.waitForSessionCount(name, toBe: 0) == 0)
    }

    @Test("close() waits for a leased connection to come back")
    func closeWaitsForLeases() async throws {
        let pool = try PG.pool("close-wait", size: 2)
        let name = try #require(pool.configuration.applicationName)
        let (isLeased, lease) = AsyncStream<Void>.makeStream()
        let leased = Task {
            try await pool.withConnection { connection in
                lease.yield()
                try await connection.execute("SELECT pg_sleep(0.5)")
                return try await connection.query("SELECT 7")[0].decode(Int.self, at: 0)
            }
        }
        for await _ in isLeased { break }
        await pool.close()
        #expect(try await leased.value == 7)
        #expect(try await PG.waitForSessionCount(name, toBe: 0) == 0)
        let error = await PG.error { try await pool.execute("SELECT 1") }
        #expect(error == .poolClosed)
    }

    @Test("acquire times out with a clear error when the pool is exhausted")
    func acquireTimeout() async throws {
        let pool = try PG.pool("timeout", size: 1, acquireTimeout: .milliseconds(300))
        // The holder keeps the only connection until the waiter has timed out, however late its timer
        // fires on a busy machine, so the test does not depend on timing.
        let (leased, lease) = AsyncStream<Void>.makeStream()
        let (released, release) = AsyncStream<Void>.makeStream()
        let holder = Task {
            try await pool.withConnection { connection in
                lease.yield()
                for await _ in released { break }
                return try await connection.execute("SELECT 1")
            }
        }
        for await _ in leased { break }
        let error = await PG.error { try await pool.execute("SELECT 1") }
        release.yield()
        #expect(error == .acquireTimeout)
        #expect(error?.description.contains("pool size 1") == true)
        _ = try await holder.value
        #expect(try await pool.query("SELECT 1")[0].decode(Int.self, at: 0) == 1)
        await pool.close()
    }

    @Test("a cancelled waiter leaves the queue")
    func cancelledWaiter() async throws {
        let pool = try PG.pool("cancel", size: 1, acquireTimeout: .seconds(30))
        // The holder keeps the only connection until the waiter's fate is known.
        let (leased, lease) = AsyncStream<Void>.makeStream()
        let (released, release) = AsyncStream<Void>.makeStream()
        let holder = Task {
            try await pool.withConnection { connection in
                lease.yield()
                for await _ in released { break }
                return try await connection.execute("SELECT 1")
            }
        }
        for await _ in leased { break }
        let waiter = Task { try await pool.execute("SELECT 1") }
        try await Task.sleep(for: .milliseconds(50))
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        release.yield()
        _ = try await holder.value
        #expect(try await pool.query("SELECT 2")[0].decode(Int.self, at: 0) == 2)
        await pool.close()
    }

    @Test("a transaction commits, and rolls back when its body throws")
    func transactions() async throws {
        struct Boom: Error {}
        let pool = try PG.pool("tx", size: 2)
        try await PG.withSchema(pool) { schema in
            try await pool.execute("CREATE TABLE \(schema).t (id int8 PRIMARY KEY)")
            try await pool.transaction { connection in
                try await connection.execute("INSERT INTO \(schema).t VALUES ($1)", [1])
            }
            await #expect(throws: Boom.self) {
                try await pool.transaction { connection in
                    try await connection.execute("INSERT INTO \(schema).t VALUES ($1)", [2])
                    throw Boom()
                }
            }
            let failed = await PG.error {
                try await pool.transaction { connection in
                    try await connection.execute("INSERT INTO \(schema).t VALUES ($1)", [3])
                    try await connection.execute("INSERT INTO \(schema).t VALUES ($1)", [1])
                }
            }
            #expect(failed?.sqlState == "23505")
            let ids = try await pool.query("SELECT id FROM \(schema).t ORDER BY id").map {
                try $0.decode(Int.self, at: 0)
            }
            #expect(ids == [1])
        }
        await pool.close()
    }

    @Test("a connection left mid-transaction is discarded, not reused")
    func leftOpenTransaction() async throws {
        let pool = try PG.pool("open-tx", size: 1)
        let firstPID = try await pool.withConnection { connection in
            try await connection.executeScript("BEGIN")
            return connection.backendPID
        }
        let secondPID = try await pool.withConnection { connection in connection.backendPID }
        #expect(firstPID != secondPID)
        await pool.close()
    }

    @Test("a query whose connection dies throws, and the next query works")
    func connectionKilledMidLease() async throws {
        let pool = try PG.pool("killed", size: 1)
        let killer = try PG.pool("killer", size: 1)
        let error = await PG.error {
            try await pool.withConnection { connection in
                let pid = connection.backendPID
                try await killer.execute("SELECT pg_terminate_backend($1)", [pid])
                // Wait until the backend is really gone, however busy the machine is.
                for _ in 0..<200 {
                    let alive = try await killer.query("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", [pid])
                    if try alive[0].decode(Int.self, at: 0) == 0 { break }
                    try await Task.sleep(for: .milliseconds(50))
                }
                try await connection.execute("SELECT 1")
            }
        }
        #expect(error?.isConnectionLost == true)
        #expect(try await pool.query("SELECT 5")[0].decode(Int.self, at: 0) == 5)
        await killer.close()
        await pool.close()
    }
}
