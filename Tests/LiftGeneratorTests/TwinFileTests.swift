import DTPModel
import DTPTestSupport
import Foundation
import Testing

/// `twins/lift/twin.yaml` declares the Lift's telemetry and alert streams for discovery and the ingestor.
@Suite struct LiftTwinFileTests {
    @Test func theTwinFileDeclaresBothStreams() throws {
        let url = TestEnvironment.repositoryRoot.appendingPathComponent("twins/lift/twin.yaml")
        let spec = try TwinSpecCodec().read(contentsOf: url)
        try spec.validate()
        #expect(spec.id == "dt:Lift_001")
        #expect(spec.tenant == "demo")
        #expect(spec.interfaces.api == "http://localhost:3001")
        let streams = Dictionary(uniqueKeysWithValues: spec.interfaces.dataStreams.map { ($0.topic, $0) })
        #expect(streams["dtp/lift/telemetry"]?.kind == .telemetry)
        #expect(streams["dtp/lift/telemetry"]?.qos == 0)
        #expect(streams["dtp/lift/alerts"]?.kind == .alerts)
        #expect(streams["dtp/lift/alerts"]?.qos == 1)
        #expect(spec.interfaces.dataStreams.allSatisfy { $0.form == .structured })
    }
}
