import DTPModel
import DTPTestSupport
import Foundation
import Testing

/// `twins/energy_hvac/twin.yaml` declares the Lift's telemetry and alert streams for discovery and the ingestor.
@Suite struct HVACTwinFileTests {
    @Test func theTwinFileDeclaresBothStreams() throws {
        let url = TestEnvironment.repositoryRoot.appendingPathComponent("twins/energy_hvac/twin.yaml")
        let spec = try TwinSpecCodec().read(contentsOf: url)
        try spec.validate()
        #expect(spec.id == "dt:EnergyHVAC_001")
        #expect(spec.tenant == "demo")
        #expect(spec.interfaces.api == "http://localhost:3002")
        let streams = Dictionary(uniqueKeysWithValues: spec.interfaces.dataStreams.map { ($0.topic, $0) })
        #expect(streams["dtp/energy_hvac/events"]?.kind == .events)
        #expect(streams["dtp/energy_hvac/events"]?.qos == 1)
        #expect(streams["dtp/sensors/room1/temp"]?.kind == .telemetry)
        #expect(spec.interfaces.dataStreams.allSatisfy { $0.form == .structured })
    }
}
