import DTPTestSupport
import DTPHTTP
import Foundation
import Testing

@Suite("Streaming response bodies")
struct HTTPStreamingTests {
    @Test func bodyArrivesInBoundedChunksWhileTheReaderLags() async throws {
        let server = try TestRoutes.server()
        defer { server.stop() }
        let highWater = 64 * 1024
        let client = try HTTPClient(configuration: .init(streamBufferSize: highWater))
        let total = 3 * 1024 * 1024
        let (count, largest, intact) = try await client.stream(HTTPRequest(url: server.baseURL + "/bytes/\(total)")) {
            response in
            #expect(response.status == 200)
            var count = 0
            var largest = 0
            var intact = true
            for try await chunk in response.body {
                for (offset, byte) in chunk.enumerated() where byte != UInt8((count + offset) % 251) {
                    intact = false
                }
                count += chunk.count
                largest = max(largest, chunk.count)
                try await Task.sleep(for: .milliseconds(2))  // a slow reader: curl must pause
            }
            return (count, largest, intact)
        }
        #expect(count == total)
        #expect(intact)
        // At most the high-water mark waits unread (plus one curl write when the buffer was empty).
        #expect(largest <= highWater + 16 * 1024)
        await client.shutdown()
    }

    @Test func droppingAStreamCancelsItAndTheClientGoesOn() async throws {
        let server = try TestRoutes.server()
        defer { server.stop() }
        let client = try HTTPClient(configuration: .init(streamBufferSize: 16 * 1024))
        let first = try await client.stream(HTTPRequest(url: server.baseURL + "/bytes/\(8 * 1024 * 1024)")) {
            response in
            var iterator = response.body.makeAsyncIterator()
            return try await iterator.next()?.count ?? 0
        }
        #expect(first > 0)
        let response = try await client.execute(HTTPRequest(url: server.baseURL + "/bytes/1000"))
        #expect(response.body.count == 1000)
        await client.shutdown()
    }

    @Test func collectReadsTheWholeBody() async throws {
        let server = try TestRoutes.server()
        defer { server.stop() }
        let client = try HTTPClient()
        let response = try await client.execute(streaming: HTTPRequest(url: server.baseURL + "/bytes/100000"))
        let collected = try await response.collect()
        #expect(collected.body.count == 100_000)
        await client.shutdown()
    }
}
