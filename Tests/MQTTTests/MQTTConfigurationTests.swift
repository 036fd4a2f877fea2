import DTPMQTT
import Testing

@Suite struct MQTTConfigurationTests {
    @Test func parsesBrokerURL() throws {
        let configuration = try MQTTConfiguration(url: "mqtt://broker.example:21883", clientID: "c1")
        #expect(configuration.host == "broker.example")
        #expect(configuration.port == 21883)
        #expect(configuration.clientID == "c1")
        #expect(configuration.tls == nil)
        #expect(configuration.protocolVersion == .v5)
        #expect(configuration.session == .cleanStart)
    }

    @Test func urlDefaultsPortAndTakesCredentials() throws {
        let configuration = try MQTTConfiguration(url: "mqtts://ingest:s3cr%40t@broker.example")
        #expect(configuration.port == 8883)
        #expect(configuration.tls != nil)
        #expect(configuration.username == "ingest")
        #expect(configuration.password == "s3cr@t")
    }

    @Test func rejectsOtherSchemesWithoutShowingThePassword() {
        #expect {
            try MQTTConfiguration(url: "http://user:hunter2@broker.example:80")
        } throws: { error in
            "\(error)".contains("http") && !"\(error)".contains("hunter2")
        }
        #expect(throws: MQTTError.self) { try MQTTConfiguration(url: "not a url") }
    }

    @Test func readsEnvironment() throws {
        let configuration = try MQTTConfiguration(environment: [
            "MQTT_BROKER_HOST": "10.0.0.5", "MQTT_BROKER_PORT": "1884", "MQTT_USERNAME": "gen",
            "MQTT_PASSWORD": "hunter2",
        ])
        #expect(configuration.host == "10.0.0.5")
        #expect(configuration.port == 1884)
        #expect(configuration.username == "gen")
        #expect(configuration.password == "hunter2")
    }

    @Test func environmentErrorNamesEveryBadVariable() {
        #expect {
            try MQTTConfiguration(environment: ["MQTT_BROKER_PORT": "many"])
        } throws: { error in
            "\(error)".contains("MQTT_BROKER_HOST") && "\(error)".contains("MQTT_BROKER_PORT")
        }
    }

    @Test func descriptionNeverShowsThePassword() {
        let configuration = MQTTConfiguration(host: "h", port: 1, username: "u", password: "hunter2")
        #expect(!configuration.description.contains("hunter2"))
        #expect(configuration.description.contains("password=<redacted>"))
        #expect(configuration.description.contains("username=u"))
    }

    @Test func sharedSubscriptionFilter() {
        #expect(MQTTClient.sharedSubscription(group: "ingest", filter: "site/+/x") == "$share/ingest/site/+/x")
    }
}
