import DTPInfluxDB
import DTPMQTT
import DTPServiceKit

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The settings both generators share, read once from the environment through a ``ConfigReader`` so
/// that one message names every bad variable.
public struct TwinStackSettings: Sendable {
    /// The MQTT broker: `DTP_MQTT_URL` (with `DTP_MQTT_CA_FILE` for `mqtts://` under a private CA), else
    /// `MQTT_BROKER_HOST`/`MQTT_BROKER_PORT`, with `MQTT_USERNAME` and `MQTT_PASSWORD`.
    public var mqtt: MQTTConfiguration
    /// The stack's own InfluxDB (`LOCAL_INFLUX_URL`, `LOCAL_ORG`, `LOCAL_BUCKET`, `LOCAL_TOKEN`), if any:
    /// the UI reads from it when set.
    public var localInflux: InfluxDBConfiguration?
    /// The central InfluxDB that alerts are mirrored to (`CENTRAL_INFLUX_*`), if any.
    public var centralInflux: InfluxDBConfiguration?
    /// The registry to register with (`DTP_REGISTRY_URL`); nil skips registration.
    public var registryURL: String?
    /// The bearer token for the registry (`DTP_SERVICE_TOKEN_<SERVICE>`).
    public var serviceToken: Secret?
    /// Where the service is reached (`DTP_<SERVICE>_URL`), as registered and shown.
    public var publicURL: String
    /// The tenant the service belongs to (`DTP_TENANT`).
    public var tenant: String
    /// The folder of the state file (`DTP_STATE_DIR`).
    public var stateDirectory: URL

    /// Reads the shared settings for `service` (`lift`, `hvac`) listening on `port`.
    public init(service: String, port: Int, reader: inout ConfigReader) {
        let upper = service.uppercased()
        let clientID = "dtp-\(service)-\(UUID().uuidString.prefix(8).lowercased())"
        if let (key, url) = reader.raw(["DTP_MQTT_URL"]) {
            do {
                let caFile = reader.optionalString("DTP_MQTT_CA_FILE")
                mqtt = try MQTTConfiguration(url: url, clientID: clientID, caFile: caFile)
                if caFile != nil, mqtt.tls == nil {
                    reader.report("DTP_MQTT_CA_FILE", "applies to an mqtts:// DTP_MQTT_URL only")
                }
            } catch {
                reader.report(key, "is not a broker URL (mqtt://host:port)")
                mqtt = MQTTConfiguration(host: "127.0.0.1", clientID: clientID)
            }
        } else {
            mqtt = MQTTConfiguration(
                host: reader.string("MQTT_BROKER_HOST", default: "127.0.0.1"),
                port: reader.int("MQTT_BROKER_PORT", default: 1883, in: 1...65535), clientID: clientID)
        }
        if let username = reader.optionalString("MQTT_USERNAME") { mqtt.username = username }
        if let password = reader.raw(["MQTT_PASSWORD"]) { mqtt.password = password.value }
        mqtt.keepalive = reader.int("MQTT_KEEPALIVE_SEC", default: 30, in: 5...3600)
        mqtt.reconnectDelayMax = .seconds(reader.int("MQTT_RECONNECT_MAX_SEC", default: 10, in: 1...300))

        localInflux = Self.influx(
            reader: &reader, url: "LOCAL_INFLUX_URL", org: "LOCAL_ORG", bucket: "LOCAL_BUCKET", token: "LOCAL_TOKEN")
        centralInflux = Self.influx(
            reader: &reader, url: "CENTRAL_INFLUX_URL", org: "CENTRAL_INFLUX_ORG", bucket: "CENTRAL_INFLUX_BUCKET",
            token: "CENTRAL_INFLUX_TOKEN")

        if reader.raw(["DTP_REGISTRY_URL"]) != nil {
            registryURL = Self.plainHTTPURL(reader: &reader, "DTP_REGISTRY_URL")
            serviceToken = reader.secret("DTP_SERVICE_TOKEN_\(upper)")
        }
        publicURL = reader.url(
            "DTP_\(upper)_URL", default: "http://localhost:\(port)", schemes: ["http", "https"]
        ).absoluteString
        if publicURL.hasSuffix("/") { publicURL.removeLast() }
        tenant = reader.string("DTP_TENANT", default: "demo")
        let home = reader.optionalString("DTP_HOME") ?? ".dtp"
        stateDirectory = URL(
            fileURLWithPath: reader.string("DTP_STATE_DIR", default: home + "/state/" + service), isDirectory: true)
    }

    /// A URL the generator calls: plain `http`, because the generators carry no TLS library (that is most
    /// of how they stay near 25 MiB idle); an `https` URL is a configuration error that says so, rather
    /// than a failure at the first write.
    private static func plainHTTPURL(reader: inout ConfigReader, _ key: String) -> String {
        let url = reader.url(key, schemes: ["http", "https"])
        if url.scheme?.lowercased() == "https" {
            reader.report(
                key,
                "is https, but the twin generators speak plain HTTP (no TLS libraries, to stay small): reach a "
                    + "TLS endpoint through a local proxy or sidecar")
        }
        return url.absoluteString
    }

    /// An InfluxDB configuration when `url` is set: v2 with a token, else v1 with the bucket as database.
    private static func influx(
        reader: inout ConfigReader, url: String, org: String, bucket: String, token: String
    ) -> InfluxDBConfiguration? {
        guard reader.raw([url]) != nil else { return nil }
        let address = plainHTTPURL(reader: &reader, url)
        let tokenValue = reader.raw([token])?.value
        let orgValue = reader.optionalString(org)
        if tokenValue != nil && orgValue == nil { reader.report(org, "is required with \(token) (InfluxDB 2)") }
        let bucketValue = reader.string(bucket, default: "signals")
        return InfluxDBConfiguration(
            url: address, org: orgValue, bucket: bucketValue, token: tokenValue, precision: .microseconds,
            maxAttempts: 2, requestTimeout: .seconds(10))
    }
}
