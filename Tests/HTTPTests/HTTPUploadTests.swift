import DTPHTTP
import DTPTestSupport
import Foundation
import Testing

@Suite("Streamed request bodies")
struct HTTPUploadTests {
    @Test func aStreamedBodyArrivesWholeAndInOrder() async throws {
        let server = try TestRoutes.server()
        defer { server.stop() }
        // A small buffer so that the producer has to wait for curl many times.
        let client = try HTTPClient(configuration: .init(streamBufferSize: 16 * 1024))
        let chunks = (0..<200).map { index in String(repeating: Character(UnicodeScalar(65 + index % 26)!), count: 997) }
        let expected = chunks.joined()
        let upload = HTTPUpload.stream(length: Int64(expected.utf8.count)) {
            AsyncThrowingStream { continuation in
                let producer = Task {
                    for chunk in chunks {
                        continuation.yield(Data(chunk.utf8))
                        await Task.yield()
                    }
                    continuation.finish()
                }
                continuation.onTermination = { _ in producer.cancel() }
            }
        }
        let request = HTTPRequest(method: .put, url: server.baseURL + "/echo", upload: upload)
        for _ in 0..<2 {  // the recipe can be sent again
            let response = try await client.execute(request)
            let echo = try JSONDecoder().decode(Echo.self, from: response.body)
            #expect(echo.method == "PUT")
            #expect(echo.header("Content-Length") == ["\(expected.utf8.count)"])
            #expect(echo.body == expected)
        }
        await client.shutdown()
    }

    @Test func aFileBodyIsSentWithItsSizeAndAnyMethod() async throws {
        let server = try TestRoutes.server()
        defer { server.stop() }
        let client = try HTTPClient()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("upload-\(UUID().uuidString)").path
        let text = (0..<3000).map { "line \($0)\n" }.joined()
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let upload = try HTTPUpload.file(atPath: path)
        #expect(upload.length == Int64(text.utf8.count))
        let response = try await client.execute(
            HTTPRequest(method: .post, url: server.baseURL + "/echo", headers: ["Content-Type": "text/plain"], upload: upload))
        let echo = try JSONDecoder().decode(Echo.self, from: response.body)
        #expect(echo.method == "POST")
        #expect(echo.header("Content-Type") == ["text/plain"])
        #expect(echo.body == text)
        await client.shutdown()
    }

    @Test func aFailingStreamFailsTheRequestWithItsError() async throws {
        struct Broken: Error, CustomStringConvertible { var description: String { "disk went away" } }
        let server = try TestRoutes.server()
        defer { server.stop() }
        let client = try HTTPClient()
        let upload = HTTPUpload.stream(length: 100_000) {
            AsyncThrowingStream { continuation in
                continuation.yield(Data(repeating: 1, count: 1000))
                continuation.finish(throwing: Broken())
            }
        }
        let error = try await #require(throws: HTTPClientError.self) {
            try await client.execute(HTTPRequest(method: .put, url: server.baseURL + "/echo", upload: upload))
        }
        #expect(error == .transport)
        #expect(error.message.contains("disk went away"))
        await client.shutdown()
    }
}
