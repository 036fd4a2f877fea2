import DTPModel
import Testing

@testable import Discovery

/// What discovery writes over a twin that the registry already holds.
@Suite("TwinMerge")
struct TwinMergeTests {
    func discovered(_ metadata: [String: JSONValue]) -> DiscoveredTwin {
        DiscoveredTwin(
            id: "dt:X", tenant: "demo", metadata: metadata, interfaces: TwinInterfaces(api: "http://localhost:1"),
            dependencies: TwinDependencies(), source: "file:x/twin.yaml")
    }

    func existing(_ metadata: [String: JSONValue]) -> Twin {
        Twin(
            id: "dt:X", tenant: "demo", metadata: metadata, interfaces: TwinInterfaces(), dependencies: TwinDependencies(),
            createdAt: .now(), updatedAt: .now(), version: 3)
    }

    @Test("keys users added survive, the file's keys win, keys the file dropped go")
    func metadataMerge() {
        let current = existing(["name": "old", "owner": "ops", "floor": 3, "status": "active", "source": "file:x/twin.yaml"])
        let merged = MergedTwin(discovered(["name": "new"]), over: current, previousKeys: ["name", "floor"])
        #expect(merged.metadata["name"] == "new")
        #expect(merged.metadata["owner"] == "ops")
        #expect(merged.metadata["floor"] == nil)
        #expect(merged.metadata["status"] == "active")
        #expect(merged.metadata["source"] == "file:x/twin.yaml")
        #expect(merged.interfaces.api == "http://localhost:1")
    }

    @Test("a deprecated twin comes back when its file does, unless the file names a status")
    func resurrection() {
        let gone = existing(["name": "x", "status": "deprecated", "source": "file:old/twin.yaml"])
        #expect(MergedTwin(discovered(["name": "x"]), over: gone, previousKeys: nil).metadata["status"] == "instantiated")
        #expect(
            MergedTwin(discovered(["name": "x", "status": "designed"]), over: gone, previousKeys: nil)
                .metadata["status"] == "designed")
    }

    @Test("unchanged when the registry holds the same content")
    func unchanged() {
        var twin = existing(["name": "x", "status": "instantiated", "source": "file:x/twin.yaml"])
        twin.interfaces = TwinInterfaces(api: "http://localhost:1")
        #expect(MergedTwin(discovered(["name": "x"]), over: twin, previousKeys: nil).isUnchanged(from: twin))
        #expect(!MergedTwin(discovered(["name": "y"]), over: twin, previousKeys: nil).isUnchanged(from: twin))
    }
}
