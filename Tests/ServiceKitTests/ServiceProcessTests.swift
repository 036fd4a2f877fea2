import DTPHTTP
import DTPTestSupport
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a real service executable, as an operator would.
@Suite("A service process")
struct ServiceProcessTests {
    /// The folder that holds the built executables, next to the test bundle.
    static var binFolder: URL {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("dtp-registry").path) {
                return url
            }
        }
        return URL(fileURLWithPath: "/nonexistent")
    }

    func launch(_ environment: [String: String]) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = Self.binFolder.appendingPathComponent("dtp-registry")
        process.environment = environment.merging(["PATH": "/usr/bin:/bin"]) { a, _ in a }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        return (process, output)
    }

    func healthz(port: Int, client: HTTPClient) async -> Bool {
        let request = HTTPRequest(method: .get, url: "http://127.0.0.1:\(port)/healthz")
        guard let response = try? await client.execute(request) else { return false }
        return response.status == 200 && response.bodyText.contains(#""status":"ok""#)
    }

    func wait(for process: Process, upTo seconds: Double) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        return !process.isRunning
    }

    @Test("serves /healthz and exits cleanly on SIGTERM")
    func gracefulShutdown() async throws {
        let client = try HTTPClient(configuration: .init(connectTimeout: .seconds(1), timeout: .seconds(2)))
        let port = TestPorts.free()
        // The registry with the local environment's settings: it migrates its schema, then serves.
        var environment = TestEnvironment.shared.values
        environment["DTP_HTTP_PORT"] = String(port)
        environment["LOG_LEVEL"] = "info"
        let (process, output) = try launch(environment)
        var up = false
        for _ in 0..<200 where !up {
            up = await healthz(port: port, client: client)
            if !up { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(up)
        kill(process.processIdentifier, SIGTERM)
        let exited = try await wait(for: process, upTo: 15)
        if !exited { process.terminate() }
        #expect(exited)
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0)
        let log = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(log.contains("serving"))
        #expect(await !healthz(port: port, client: client))
        await client.shutdown()
    }

    @Test("refuses to start on bad settings, naming every bad variable")
    func badConfiguration() async throws {
        let (process, output) = try launch(["DTP_HTTP_PORT": "http", "LOG_LEVEL": "chatty"])
        let exited = try await wait(for: process, upTo: 15)
        if !exited { process.terminate() }
        #expect(exited)
        #expect(process.terminationStatus == 78)
        let log = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(log.contains("DTP_HTTP_PORT"))
        #expect(log.contains("LOG_LEVEL"))
    }
}
