import DTPHTTP
import DTPMQTT
import DTPPostgres
import DTPServiceKit
import DTPTestSupport
import Foundation
import Testing

@testable import MQTTIngestor

/// `mqtts://` with a private CA (`DTP_MQTT_CA_FILE`): the ingestor's libmosquitto path, which its own
/// plain-TCP connection leaves to TLS, stores what arrives over TLS.
@Suite("The ingestor over TLS", .timeLimit(.minutes(3)))
struct TLSTests {
    @Test("messages published over TLS to a broker under a private CA are stored")
    func storesOverTLS() async throws {
        let name = Harness.uniqueName("tls")
        let port = TestPorts.free()
        try await DevServices.scratch(.mosquittoTLS, name: name, port: port, .start)
        let http = try HTTPClient()
        let topic = Harness.uniqueName("tls/")
        var setup = try await IngestorSetup.make(topics: [topic + "/#"], mqttPort: port)
        let caFile = try DevServices.scratchCAFile(name: name)
        setup.extra["DTP_MQTT_URL"] = "mqtts://127.0.0.1:\(port)"
        setup.extra["DTP_MQTT_CA_FILE"] = caFile
        let ingestor = try setup.start()
        let pool = try Harness.pool(setup.database)
        do {
            #expect(await ingestor.waitUntilReady(http))
            var configuration = try MQTTConfiguration(url: "mqtts://127.0.0.1:\(port)", caFile: caFile)
            configuration.clientID = Harness.uniqueName("pub-")
            let publisher = try MQTTClient(configuration: configuration)
            try await publisher.connect()
            for index in 0..<20 {
                try await publisher.publish(
                    #"{"id": "tls-\#(index)", "value": \#(index)}"#, to: topic + "/sensor", qos: .atLeastOnce)
            }
            await publisher.disconnect()
            let stored = await Harness.eventually {
                await Harness.scalar(pool, "SELECT count(*)::bigint FROM telemetry.observation") == 20
            }
            #expect(stored)
            #expect(await Harness.scalar(pool, "SELECT sum(value_double)::bigint FROM telemetry.observation") == 190)
        } catch {
            Issue.record("\(error)\n\(ingestor.log)")
        }
        await ingestor.stop()
        await pool.close()
        await setup.cleanUp(http: http)
        try? await DevServices.scratch(.mosquittoTLS, name: name, port: port, .stop)
        DevServices.removeScratch(.mosquittoTLS, name: name)
        await http.shutdown()
    }

    @Test("a CA file without an mqtts URL is a configuration error naming it")
    func caFileNeedsTLS() throws {
        var reader = ConfigReader([
            "PGHOST": "127.0.0.1", "DTP_MQTT_URL": "mqtt://127.0.0.1:1883",
            "DTP_MQTT_CA_FILE": "/etc/ssl/certs/ca-certificates.crt",
        ])
        _ = IngestorConfig(reader: &reader)
        let error = try #require(throws: ConfigurationError.self) { try reader.finish() }
        #expect(error.problems.contains { $0.key == "DTP_MQTT_CA_FILE" && $0.message.contains("mqtts://") })
    }
}
