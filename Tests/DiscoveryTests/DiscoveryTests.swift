import DTPHTTP
import DTPModel
import DTPServiceKit
import DTPTestSupport
import Foundation
import Logging
import Testing

@testable import Discovery

/// Discovery against real folders, a real `dtp-registry` process and the real PostgreSQL.
@Suite("Discovery", .timeLimit(.minutes(3)))
struct DiscoveryTests {
    static let fixtures = Bundle.module.resourceURL!.appendingPathComponent("Fixtures/earlier-twins")

    @Test("the earlier system's four twin folders register, with the inferred API URL and the dependency edge")
    func earlierFixtures() async throws {
        try await DiscoveryHarness.with(prepare: { root in
            for name in ["energy_hvac", "lift", "m5core2", "pump_noapi"] {
                try FileManager.default.copyItem(
                    at: Self.fixtures.appendingPathComponent(name), to: root.appendingPathComponent(name))
            }
        }) { harness in
            let registry = harness.registry
            let twins = try await registry.twins()
            #expect(Set(twins.map(\.id)) == ["dt:EnergyHVAC_001", "dt:Lift_001", "dt:M5Core2_001", "dt:Pump_007"])
            let pump = try #require(try await registry.twin("dt:Pump_007"))
            #expect(pump.interfaces.api == "http://localhost:3009")
            #expect(pump.tenant == "plant-b")
            #expect(pump.metadata["name"] == "Pump without an api field")
            #expect(pump.metadata["source"] == "file:pump_noapi/twin.yaml")
            #expect(pump.status == .designed)
            let lift = try #require(try await registry.twin("dt:Lift_001"))
            #expect(lift.interfaces.api == "http://localhost:3001")
            #expect(lift.metadata["lift_id"] == "lift-001")
            let graph = try await registry.send(.get, "/api/registry/twins/dt:Pump_007/graph?direction=out")
            let edges = graph["edges"]?.arrayValue ?? []
            #expect(edges.contains { $0["from"] == "dt:Pump_007" && $0["to"] == "dt:Lift_001" })
            let status = try await harness.status()
            #expect(status["files_seen"] == 4)
            #expect(status["twins_registered"] == 4)
            #expect(status["errors"]?.arrayValue?.isEmpty == true)
        }
    }

    @Test("create, modify, rename and delete; user metadata survives; only discovery's twins are deprecated")
    func lifecycle() async throws {
        try await DiscoveryHarness.with { harness in
            let registry = harness.registry
            _ = try await registry.send(
                .post, "/api/registry/twins", body: ["@id": "dt:Manual", "metadata": ["name": "made by hand"]])
            // A folder created with its file already inside.
            let staging = harness.root.deletingLastPathComponent().appendingPathComponent("staging-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
            try Data(twinYAML(id: "dt:Alpha", name: "Alpha").utf8).write(to: staging.appendingPathComponent("twin.yaml"))
            try FileManager.default.moveItem(at: staging, to: harness.root.appendingPathComponent("alpha"))
            #expect(await eventually { try await registry.twin("dt:Alpha") != nil })
            // A folder created empty, then given its file.
            try harness.write("nested/deep/gamma/twin.yaml", twinYAML(id: "dt:Gamma", name: "Gamma"))
            #expect(await eventually { try await registry.twin("dt:Gamma") != nil })
            let gamma = try #require(try await registry.twin("dt:Gamma"))
            #expect(gamma.metadata["source"] == "file:nested/deep/gamma/twin.yaml")

            // An API user adds a key; editing the file keeps it.
            _ = try await registry.send(
                .patch, "/api/registry/twins/dt:Alpha", body: ["metadata": ["owner": "ops"]],
                contentType: "application/merge-patch+json")
            try harness.write("alpha/twin.yaml", twinYAML(id: "dt:Alpha", name: "Alpha renamed"))
            #expect(await eventually { try await registry.twin("dt:Alpha")?.metadata["name"] == "Alpha renamed" })
            #expect(try await registry.twin("dt:Alpha")?.metadata["owner"] == "ops")
            // A full scan changes nothing and keeps the key too.
            let scan = try await harness.scan()
            #expect(scan["files"] == 2)
            #expect(scan["unchanged"] == 2)
            #expect(scan["registered"] == 0)
            #expect(try await registry.twin("dt:Alpha")?.metadata["owner"] == "ops")

            // A renamed folder keeps one twin.
            let versionsBefore = try await registry.versionCount("dt:Alpha")
            try FileManager.default.moveItem(
                at: harness.root.appendingPathComponent("alpha"), to: harness.root.appendingPathComponent("alpha-2"))
            #expect(await eventually { try await registry.twin("dt:Alpha")?.metadata["source"] == "file:alpha-2/twin.yaml" })
            let renamed = try #require(try await registry.twin("dt:Alpha"))
            #expect(renamed.status == .instantiated)
            #expect(renamed.metadata["owner"] == "ops")
            #expect(try await registry.versionCount("dt:Alpha") == versionsBefore + 1)

            // Deleting the folder soft-deletes its twin; the hand-made twin is never touched.
            try FileManager.default.removeItem(at: harness.root.appendingPathComponent("alpha-2"))
            #expect(await eventually { try await registry.twin("dt:Alpha")?.status == .deprecated })
            try FileManager.default.removeItem(at: harness.root.appendingPathComponent("nested/deep/gamma/twin.yaml"))
            #expect(await eventually { try await registry.twin("dt:Gamma")?.status == .deprecated })
            _ = try await harness.scan()
            #expect(try await registry.twin("dt:Manual")?.status == .instantiated)

            // The file comes back: the twin is live again.
            try harness.write("alpha-3/twin.yaml", twinYAML(id: "dt:Alpha", name: "Alpha back"))
            #expect(await eventually { try await registry.twin("dt:Alpha")?.status == .instantiated })
        }
    }

    @Test("an invalid file keeps its twin, is reported with file and line, and updates again when fixed")
    func invalidThenFixed() async throws {
        try await DiscoveryHarness.with(prepare: { root in
            let folder = root.appendingPathComponent("beta")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data(twinYAML(id: "dt:Beta", name: "Beta").utf8).write(to: folder.appendingPathComponent("twin.yaml"))
        }) { harness in
            let registry = harness.registry
            #expect(try await registry.twin("dt:Beta")?.metadata["name"] == "Beta")
            try harness.write("beta/twin.yaml", "@id: dt:Beta\nname: Beta\nmetadata:\n  status: bogus\n")
            let reported = await eventually {
                let errors = try await harness.status()["errors"]?.arrayValue ?? []
                return errors.contains { $0["file"] == "beta/twin.yaml" && $0["line"] == 4 }
            }
            #expect(reported)
            try harness.write("beta/twin.yaml", "@id: dt:Beta\nname: [unclosed\n")
            #expect(await eventually {
                (try await harness.status()["errors"]?.arrayValue ?? []).contains {
                    $0["file"] == "beta/twin.yaml" && $0["reason"]?.stringValue?.isEmpty == false
                }
            })
            let scan = try await harness.scan()
            #expect(scan["failed"]?.arrayValue?.count == 1)
            let kept = try #require(try await registry.twin("dt:Beta"))
            #expect(kept.status == .instantiated)
            #expect(kept.metadata["name"] == "Beta")
            try harness.writeByRename("beta/twin.yaml", twinYAML(id: "dt:Beta", name: "Beta fixed"))
            #expect(await eventually { try await registry.twin("dt:Beta")?.metadata["name"] == "Beta fixed" })
            #expect(await eventually { (try await harness.status()["errors"]?.arrayValue ?? []).isEmpty })
        }
    }

    @Test("100 rapid saves give a handful of updates, and the last content wins")
    func rapidSaves() async throws {
        try await DiscoveryHarness.with(prepare: { root in
            let folder = root.appendingPathComponent("burst")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data(twinYAML(id: "dt:Burst", name: "start").utf8).write(to: folder.appendingPathComponent("twin.yaml"))
        }) { harness in
            let registry = harness.registry
            let before = try await registry.versionCount("dt:Burst")
            for index in 0..<100 {
                let text = twinYAML(id: "dt:Burst", name: "save \(index)")
                if index % 2 == 0 {
                    try harness.write("burst/twin.yaml", text)
                } else {
                    try harness.writeByRename("burst/twin.yaml", text)
                }
            }
            #expect(await eventually { try await registry.twin("dt:Burst")?.metadata["name"] == "save 99" })
            try await Task.sleep(for: .milliseconds(1500))
            #expect(try await registry.twin("dt:Burst")?.metadata["name"] == "save 99")
            let updates = try await registry.versionCount("dt:Burst") - before
            #expect((1...5).contains(updates), "\(updates) updates for 100 saves")
        }
    }

    @Test("1,000 twin folders at start are registered in bulk")
    func thousandAtStart() async throws {
        try await DiscoveryHarness.with(prepare: { root in
            for index in 0..<1000 {
                let folder = root.appendingPathComponent(String(format: "site-%04d", index))
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                try Data(twinYAML(id: "dt:Many_\(index)", name: "Many \(index)").utf8)
                    .write(to: folder.appendingPathComponent("twin.yaml"))
            }
        }) { harness in
            let twins = try await harness.registry.twins()
            #expect(twins.count == 1000)
            #expect(twins.allSatisfy { $0.isFileDefined })
            let status = try await harness.status()
            #expect(status["files_seen"] == 1000)
            #expect(status["twins_registered"] == 1000)
            let scan = try await harness.scan()
            #expect(scan["unchanged"] == 1000)
        }
    }

    @Test("changes made while the registry is down, a removal included, arrive when it is back")
    func registryDown() async throws {
        try await DiscoveryHarness.with(prepare: { root in
            for (folder, id) in [("one", "dt:One"), ("two", "dt:Two")] {
                let url = root.appendingPathComponent(folder)
                try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
                try Data(twinYAML(id: id, name: folder).utf8).write(to: url.appendingPathComponent("twin.yaml"))
            }
        }) { harness in
            let registry = harness.registry
            #expect(try await registry.twins().count == 2)
            await registry.stop()
            try harness.write("one/twin.yaml", twinYAML(id: "dt:One", name: "one changed"))
            try FileManager.default.removeItem(at: harness.root.appendingPathComponent("two"))
            try harness.write("three/twin.yaml", twinYAML(id: "dt:Three", name: "three"))
            #expect(await eventually {
                let status = try await harness.status()
                return status["registry_error"] != .null && status["queued"] == 3
            })
            try await Task.sleep(for: .milliseconds(600))
            try harness.write("one/twin.yaml", twinYAML(id: "dt:One", name: "one changed again"))
            try await registry.start()
            #expect(await eventually { try await registry.twin("dt:One")?.metadata["name"] == "one changed again" })
            #expect(await eventually { try await registry.twin("dt:Two")?.status == .deprecated })
            #expect(await eventually { try await registry.twin("dt:Three") != nil })
            #expect(await eventually { try await harness.status()["queued"] == 0 })
        }
    }

    @Test("symlinked folders are followed, and a symlink loop ends")
    func symlinks() async throws {
        let outside = try DiscoveryHarness.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: outside) }
        try FileManager.default.createDirectory(at: outside.appendingPathComponent("linked"), withIntermediateDirectories: true)
        try Data(twinYAML(id: "dt:Linked", name: "Linked").utf8)
            .write(to: outside.appendingPathComponent("linked/twin.yaml"))
        try await DiscoveryHarness.with(prepare: { root in
            try FileManager.default.createDirectory(at: root.appendingPathComponent("a"), withIntermediateDirectories: true)
            try Data(twinYAML(id: "dt:A", name: "A").utf8).write(to: root.appendingPathComponent("a/twin.yaml"))
            try FileManager.default.createSymbolicLink(
                atPath: root.appendingPathComponent("a/loop").path, withDestinationPath: root.path)
        }) { harness in
            let registry = harness.registry
            #expect(try await registry.twins().map(\.id) == ["dt:A"])
            try FileManager.default.createSymbolicLink(
                atPath: harness.root.appendingPathComponent("ext").path,
                withDestinationPath: outside.appendingPathComponent("linked").path)
            #expect(await eventually { try await registry.twin("dt:Linked")?.metadata["source"] == "file:ext/twin.yaml" })
            // A change inside the linked folder is seen through the link.
            try Data(twinYAML(id: "dt:Linked", name: "Linked 2").utf8)
                .write(to: outside.appendingPathComponent("linked/twin.yaml"))
            #expect(await eventually { try await registry.twin("dt:Linked")?.metadata["name"] == "Linked 2" })
        }
    }

    @Test("at start, a file-defined twin whose file vanished meanwhile is deprecated; other twins are not")
    func vanishedWhileDown() async throws {
        let registry = try await RegistryServer.start()
        do {
            _ = try await registry.send(
                .post, "/api/registry/twins", body: ["@id": "dt:Gone", "metadata": ["source": "file:gone/twin.yaml"]])
            _ = try await registry.send(.post, "/api/registry/twins", body: ["@id": "dt:Manual"])
            try await DiscoveryHarness.with(prepare: { root in
                try FileManager.default.createDirectory(at: root.appendingPathComponent("kept"), withIntermediateDirectories: true)
                try Data(twinYAML(id: "dt:Kept", name: "Kept").utf8).write(to: root.appendingPathComponent("kept/twin.yaml"))
            }, registry: registry) { (harness: DiscoveryHarness) async throws in
                #expect(try await harness.status()["files_seen"] == 1)
                #expect(try await registry.twin("dt:Gone")?.status == .deprecated)
                #expect(try await registry.twin("dt:Manual")?.status == .instantiated)
                #expect(try await registry.twin("dt:Kept")?.status == .instantiated)
            }
        } catch {
            await registry.destroy()
            throw error
        }
        await registry.destroy()
    }

    @Test("POST /scan needs a service token")
    func scanNeedsToken() async throws {
        try await DiscoveryHarness.with { harness in
            let response = try await harness.registry.client.execute(
                HTTPRequest(method: .post, url: harness.baseURL + "/scan", headers: ["Authorization": "Bearer nope"]))
            #expect(response.status == 401)
            let anonymous = try await harness.registry.client.execute(HTTPRequest(method: .post, url: harness.baseURL + "/scan"))
            #expect(anonymous.status == 401)
            #expect(anonymous.bodyText.contains("detail"))
        }
    }

    @Test("--once registers, prints a table and reports the failed file")
    func once() async throws {
        let registry = try await RegistryServer.start()
        let root = try DiscoveryHarness.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: root) }
        do {
            try FileManager.default.createDirectory(at: root.appendingPathComponent("good"), withIntermediateDirectories: true)
            try Data(twinYAML(id: "dt:Good", name: "Good").utf8).write(to: root.appendingPathComponent("good/twin.yaml"))
            try FileManager.default.createDirectory(at: root.appendingPathComponent("bad"), withIntermediateDirectories: true)
            try Data("@id: dt:Bad\ninterfaces:\n  api: ftp://nope\n".utf8).write(to: root.appendingPathComponent("bad/twin.yaml"))
            _ = try await registry.send(
                .post, "/api/registry/twins", body: ["@id": "dt:Elsewhere", "metadata": ["source": "file:other/twin.yaml"]])
            let config = DiscoveryConfig(
                settings: ServiceSettings(name: "discovery", port: 8082), roots: [root.path],
                registryURL: registry.baseURL, registryToken: Secret(registry.token))
            let summary = try await scanOnce(config, logger: Logger(label: "test.once"))
            #expect(summary.files == 2)
            #expect(summary.registered == 1)
            #expect(summary.failed.map(\.file) == ["bad/twin.yaml"])
            #expect(summary.failed.first?.line == 3)
            #expect(summary.table.contains("good/twin.yaml"))
            #expect(summary.table.contains("bad/twin.yaml"))
            #expect(try await registry.twin("dt:Good") != nil)
            #expect(try await registry.twin("dt:Bad") == nil)
            #expect(try await registry.twin("dt:Elsewhere")?.status == .instantiated)
        } catch {
            await registry.destroy()
            throw error
        }
        await registry.destroy()
    }
}
