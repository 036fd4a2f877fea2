import DTPHTTP
import DTPModel
import DTPServiceKit
import DTPTestSupport
import Foundation
import Logging
import ServiceLifecycle

@testable import Discovery

/// A temporary twins root, a registry process of its own, and discovery running in-process on them.
struct DiscoveryHarness: Sendable {
    let root: URL
    let registry: RegistryServer
    let parts: DiscoveryParts
    let port: Int
    let gatewayToken: String

    var engine: DiscoveryEngine { parts.engine }
    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// A fresh temporary folder, removed by the caller.
    static func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dtp-disc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        // The real path, so that paths the watcher reports match those the test builds.
        return url.resolvingSymlinksInPath()
    }

    /// Runs `body` with discovery started on a root that `prepare` filled; everything is removed afterwards.
    static func with(
        prepare: (URL) throws -> Void = { _ in }, registry: RegistryServer? = nil,
        rescan: Duration = .seconds(300), _ body: (DiscoveryHarness) async throws -> Void
    ) async throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        try prepare(root)
        let gatewayToken = "gw-" + UUID().uuidString
        let ownRegistry = registry == nil
        let registry = if let registry { registry } else { try await RegistryServer.start() }
        let port = TestPorts.free()
        let config = DiscoveryConfig(
            settings: ServiceSettings(name: "discovery", port: port, logLevel: .warning), roots: [root.path],
            registryURL: registry.baseURL, registryToken: Secret(registry.token),
            serviceTokens: ["gateway": gatewayToken], rescanInterval: rescan, debounce: .milliseconds(100),
            maxDebounce: .seconds(1), maxRetryDelay: .milliseconds(500))
        var logger = Logger(label: "test.discovery")
        logger.logLevel = .warning
        let (app, parts) = try buildApplication(config, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let running = Task { try await group.run() }
        let harness = DiscoveryHarness(root: root, registry: registry, parts: parts, port: port, gatewayToken: gatewayToken)
        do {
            try await harness.waitUntilServing()
            try await body(harness)
        } catch {
            await group.triggerGracefulShutdown()
            _ = await running.result
            if ownRegistry { await registry.destroy() }
            throw error
        }
        await group.triggerGracefulShutdown()
        _ = await running.result
        if ownRegistry { await registry.destroy() }
    }

    private func waitUntilServing() async throws {
        let ready = await eventually(timeout: .seconds(30)) {
            guard let response = try? await registry.client.execute(HTTPRequest(url: baseURL + "/status")),
                response.isSuccess,
                let status = try? JSONDecoder().decode(JSONValue.self, from: response.body)
            else { return false }
            return status["last_scan"] != .null && status["last_scan"] != nil
        }
        if !ready { throw RegistryServer.Missing(description: "discovery did not finish its initial scan") }
    }

    /// `GET /status`.
    func status() async throws -> JSONValue {
        try await registry.client.json(.get, url: baseURL + "/status")
    }

    /// `POST /scan` with the gateway's token.
    func scan() async throws -> JSONValue {
        let response = try await registry.client.execute(
            HTTPRequest(method: .post, url: baseURL + "/scan", headers: ["Authorization": "Bearer \(gatewayToken)"]))
        return try JSONDecoder().decode(JSONValue.self, from: try response.requireSuccess().body)
    }

    /// Writes `text` to `relative` under the root, creating folders as needed (a plain truncate-and-write).
    func write(_ relative: String, _ text: String) throws {
        let url = root.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    /// Writes like editors that save to a temporary file and rename it over the original.
    func writeByRename(_ relative: String, _ text: String) throws {
        let url = root.appendingPathComponent(relative)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp")
        try Data(text.utf8).write(to: temporary)
        guard rename(temporary.path, url.path) == 0 else { throw POSIXError(.EIO) }
    }
}

/// A minimal twin file.
func twinYAML(id: String, name: String, extra: String = "") -> String {
    """
    @id: \(id)
    name: \(name)
    metadata:
      domain: [Test]
    \(extra)
    interfaces:
      data_streams:
        - MQTT:dtp/test/\(id.replacingOccurrences(of: ":", with: "_"))
    """
}
