import DTPModel
import Foundation
import Testing

/// The earlier system's twin folders, read verbatim.
@Suite struct FixtureTests {
    static func folder(_ name: String) throws -> URL {
        let root = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        return root.appendingPathComponent("earlier-twins").appendingPathComponent(name)
    }

    static func spec(_ name: String) throws -> TwinSpec {
        try TwinSpecCodec().read(contentsOf: folder(name).appendingPathComponent("twin.yaml"))
    }

    @Test func lift() throws {
        let spec = try Self.spec("lift")
        #expect(spec.id == "dt:Lift_001")
        #expect(spec.name == "Lift Maintenance")
        #expect(spec.topLevelName == "Lift Maintenance")
        #expect(spec.tenant == "demo")
        #expect(spec.domains == ["Lift"])
        #expect(spec.status == .instantiated)
        #expect(spec.metadata["lift_id"] == .string("lift-001"))
        #expect(spec.interfaces.api == "http://localhost:3001")
        #expect(spec.interfaces.dataStreams == [.short("dtp/lift/alerts")])
        #expect(spec.interfaces.dataStreams.first?.shortForm == "MQTT:dtp/lift/alerts")
        #expect(spec.dependencies == TwinDependencies(static: [], dynamic: []))
    }

    @Test func energyHVAC() throws {
        let spec = try Self.spec("energy_hvac")
        #expect(spec.id == "dt:EnergyHVAC_001")
        #expect(spec.name == "Energy & HVAC")
        #expect(spec.tenant == "demo")
        #expect(spec.domains == ["Energy", "HVAC"])
        #expect(spec.status == .instantiated)
        #expect(spec.interfaces.api == "http://localhost:3002")
        #expect(spec.interfaces.dataStreams.map(\.topic) == ["dtp/energy_hvac/events"])
        #expect(spec.interfaces.dataStreams.map(\.form) == [.short])
    }

    @Test func m5core2() throws {
        let spec = try Self.spec("m5core2")
        #expect(spec.id == "dt:M5Core2_001")
        #expect(spec.name == "M5Stack Core2 (Vibration + Orientation)")
        #expect(spec.domains == ["Device", "M5Stack"])
        #expect(spec.metadata["device_id"] == .string("core2-001"))
        #expect(spec.interfaces.api == "http://localhost:3003")
        #expect(spec.interfaces.dataStreams == [.short("dtp/m5core2/telemetry"), .short("dtp/m5core2/alerts")])
    }

    @Test func pumpWithoutAPI() throws {
        let spec = try Self.spec("pump_noapi")
        #expect(spec.id == "dt:Pump_007")
        #expect(spec.name == "Pump without an api field")
        #expect(spec.tenant == "plant-b")
        #expect(spec.domains == ["Pump"])
        #expect(spec.status == .designed)
        #expect(spec.interfaces.api == nil)
        #expect(spec.interfaces.dataStreams == [.short("dtp/pump/telemetry")])
        #expect(spec.dependencies.static == ["dt:Lift_001"])
        #expect(spec.dependencies.dynamic == [])

        let compose = try Data(contentsOf: Self.folder("pump_noapi").appendingPathComponent("compose.yaml"))
        #expect(try ComposeFile.firstPublishedPort(service: "ui", in: compose) == 3009)
        #expect(try ComposeFile.inferredAPI(service: "ui", in: compose) == "http://localhost:3009")
        #expect(try ComposeFile.firstPublishedPort(service: "generator", in: compose) == nil)
        #expect(try ComposeFile.firstPublishedPort(service: "missing", in: compose) == nil)
    }

    @Test func rawReadKeepsTheFileAsWritten() throws {
        let codec = TwinSpecCodec(normalization: nil)
        let url = try Self.folder("lift").appendingPathComponent("twin.yaml")
        let spec = try codec.read(contentsOf: url)
        #expect(spec.metadata["name"] == nil)
        #expect(spec.topLevelName == "Lift Maintenance")
        #expect(spec.status == .instantiated)
    }

    @Test func fixtureRewrittenReadsBackEqual() throws {
        let codec = TwinSpecCodec(normalization: nil)
        for name in ["lift", "energy_hvac", "m5core2", "pump_noapi"] {
            let spec = try codec.read(contentsOf: Self.folder(name).appendingPathComponent("twin.yaml"))
            let yaml = try codec.encodeYAML(spec)
            #expect(yaml.hasPrefix("\"@id\": "))
            #expect(try codec.decode(yaml, path: "\(name)/twin.yaml") == spec)
            #expect(try codec.decode(codec.encodeJSON(spec), path: "\(name)/twin.json") == spec)
        }
    }

    @Test func normalisationFillsIdTenantNameAndStatus() throws {
        let codec = TwinSpecCodec()
        let spec = try codec.decode("name: Boiler\nmetadata: {domain: Heat}\n", path: "twins/dt:Boiler_1/twin.yml")
        #expect(spec.id == "dt:Boiler_1")
        #expect(spec.tenant == "demo")
        #expect(spec.name == "Boiler")
        #expect(spec.status == .instantiated)
        #expect(spec.domains == ["Heat"])
        let twin = try Twin(spec: spec, createdAt: Timestamp(microsecondsSinceEpoch: 0), updatedAt: .now())
        #expect(twin.id == "dt:Boiler_1")
        #expect(twin.etag == "\"1\"")
    }

    @Test func composePortSyntaxes() throws {
        let yaml = """
            services:
              a: {ports: ["8000"]}
              b: {ports: ["127.0.0.1:3010:8000"]}
              c:
                ports:
                  - target: 8000
                    published: 3011
              d: {ports: ["[::1]:3012:80/tcp"]}
              e: {ports: ["3013-3014:80-81", "3020:80"]}
              f: {ports: [{target: 80, published: "3015"}]}
              g: {ports: [8000, "3016:8000"]}
            """
        let data = Data(yaml.utf8)
        #expect(try ComposeFile.firstPublishedPort(service: "a", in: data) == nil)
        #expect(try ComposeFile.firstPublishedPort(service: "b", in: data) == 3010)
        #expect(try ComposeFile.firstPublishedPort(service: "c", in: data) == 3011)
        #expect(try ComposeFile.firstPublishedPort(service: "d", in: data) == 3012)
        #expect(try ComposeFile.firstPublishedPort(service: "e", in: data) == 3013)
        #expect(try ComposeFile.firstPublishedPort(service: "f", in: data) == 3015)
        #expect(try ComposeFile.firstPublishedPort(service: "g", in: data) == 3016)
        #expect(throws: TwinSpecError.self) {
            try ComposeFile.firstPublishedPort(service: "ui", in: Data("services: [\n".utf8))
        }
    }
}
