import DTPMQTT
import DTPTestSupport
import Foundation
import Testing

/// `mqtts://` through libmosquitto against a scratch broker whose certificate a private CA signed.
@Suite("MQTT over TLS", .timeLimit(.minutes(3)))
struct MQTTTLSTests {
    @Test func aClientTrustingThePrivateCADeliversAndOneWithoutItIsRefused() async throws {
        let name = "tls" + UUID().uuidString.prefix(8).lowercased()
        let port = TestPorts.free()
        try await DevServices.scratch(.mosquittoTLS, name: name, port: port, .start)
        do {
            try await run(url: "mqtts://127.0.0.1:\(port)", caFile: try DevServices.scratchCAFile(name: name))
        } catch {
            Issue.record(error)
        }
        try await DevServices.scratch(.mosquittoTLS, name: name, port: port, .stop)
        DevServices.removeScratch(.mosquittoTLS, name: name)
    }

    private func run(url: String, caFile: String) async throws {
        let subscriber = try MQTTClient(configuration: MQTTConfiguration(url: url, caFile: caFile))
        let publisher = try MQTTClient(configuration: MQTTConfiguration(url: url, caFile: caFile))
        try await subscriber.connect()
        try await publisher.connect()
        let topic = MQTTTest.uniquePrefix("tls")
        _ = try await subscriber.subscribe(to: topic, qos: .atLeastOnce)
        for sequence in 0..<10 { try await publisher.publish("\(sequence)", to: topic, qos: .atLeastOnce) }
        let received = await MQTTTest.collect(10, from: subscriber, within: 20)
        #expect(received.map(MQTTTest.sequence) == Array(0..<10))
        await publisher.disconnect()
        await subscriber.disconnect()

        // The system's trust store does not know the private CA: the handshake fails, nothing connects.
        let stranger = try MQTTClient(configuration: MQTTConfiguration(url: url))
        await #expect {
            try await stranger.connect()
        } throws: { error in
            let text = "\(error)".lowercased()
            return text.contains("tls") || text.contains("certificate") || text.contains("ssl")
        }
        #expect(!stranger.isConnected)
        await stranger.disconnect()
    }
}
