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

    @Test func aBrokerThatNeverSendsCONNACKFailsTheConnectAfterItsTimeout() async throws {
        // An HTTP test server takes the TCP connection and waits for an HTTP request that never comes.
        let server = try TestHTTPServer { _, _ in .close }
        defer { server.stop() }
        var configuration = MQTTConfiguration(host: "127.0.0.1", port: server.port)
        configuration.connectTimeout = .seconds(1)
        let client = try MQTTClient(configuration: configuration)
        await #expect {
            try await client.connect()
        } throws: { error in
            "\(error)".contains("no CONNACK from 127.0.0.1:\(server.port)")
        }
        #expect(!client.isConnected)
        await client.disconnect()
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
        // libmosquitto reports the failed handshake either at once or only by ending its loop thread; the
        // connect timeout turns the second into an error too, instead of a wait without end.
        var strangerConfiguration = try MQTTConfiguration(url: url)
        strangerConfiguration.connectTimeout = .seconds(3)
        let stranger = try MQTTClient(configuration: strangerConfiguration)
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
