#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// How an ``MQTTClient`` reaches and talks to its broker.
///
/// Defaults suit the local environment: MQTT 5, a clean start, a 30 s keepalive and reconnects backing off
/// from 1 s to 30 s. `description` never shows the password.
public struct MQTTConfiguration: Sendable, CustomStringConvertible {
    /// The broker's host name or address.
    public var host: String
    /// The broker's TCP port.
    public var port: Int
    /// The MQTT client identifier; a persistent session is bound to it, so it must be stable for one.
    public var clientID: String
    /// Seconds between keepalive pings; the broker drops the client after 1.5 times this without traffic.
    public var keepalive: Int
    /// How long ``MQTTClient/connect()`` waits for the broker's CONNACK. libmosquitto reports some failures
    /// only by ending its loop thread (a refused TLS handshake, say), so without a bound a connect could
    /// wait forever.
    public var connectTimeout: Duration = .seconds(10)
    /// Whether the session starts empty (MQTT 5 clean start) or resumes the broker's stored one.
    public var session: Session
    /// The user name sent on CONNECT, if any.
    public var username: String?
    /// The password sent on CONNECT, if any. Never printed.
    public var password: String?
    /// TLS settings; nil for a plain TCP connection.
    public var tls: TLS?
    /// The wait before the first reconnect attempt after a lost connection.
    public var reconnectDelayMin: Duration
    /// The longest wait between reconnect attempts; waits double from the minimum up to this.
    public var reconnectDelayMax: Duration
    /// The MQTT protocol version; MQTT 5 unless a broker needs an older one.
    public var protocolVersion: ProtocolVersion
    /// How many inbound messages ``MQTTClient/messages`` holds before the network thread waits for the
    /// consumer (see ``MQTTClient/messages`` for what that wait means).
    public var messageBufferCapacity: Int

    /// What the broker keeps of a session between connections.
    public enum Session: Sendable, Equatable {
        /// Start with no stored state, and the broker forgets the session when the connection ends.
        case cleanStart
        /// Resume the broker's stored session (subscriptions and queued QoS 1/2 messages) and ask it to keep
        /// the session for `expiry` after a disconnection (MQTT 5 Session Expiry Interval).
        case persistent(expiry: Duration)
    }

    /// The MQTT protocol revisions libmosquitto speaks.
    public enum ProtocolVersion: Int32, Sendable {
        /// MQTT 3.1.
        case v31 = 3
        /// MQTT 3.1.1.
        case v311 = 4
        /// MQTT 5.0.
        case v5 = 5
    }

    /// TLS settings, handed to `mosquitto_tls_set` and `mosquitto_tls_insecure_set`.
    public struct TLS: Sendable {
        /// A PEM file of trusted CA certificates.
        public var caFile: String?
        /// A folder of trusted CA certificates (hashed names, as `openssl rehash` makes).
        public var caPath: String?
        /// The client certificate (PEM), for brokers that require one.
        public var certificateFile: String?
        /// The client certificate's private key (PEM).
        public var keyFile: String?
        /// Skip checking the broker's host name against its certificate. For tests only: it allows
        /// a man in the middle.
        public var insecure: Bool

        /// TLS with the given trust anchors and optional client certificate. One of `caFile` or `caPath`
        /// is required by libmosquitto.
        public init(
            caFile: String? = nil, caPath: String? = nil, certificateFile: String? = nil, keyFile: String? = nil,
            insecure: Bool = false
        ) {
            self.caFile = caFile
            self.caPath = caPath
            self.certificateFile = certificateFile
            self.keyFile = keyFile
            self.insecure = insecure
        }
    }

    /// A configuration with every setting given or defaulted.
    public init(
        host: String = "127.0.0.1", port: Int = 1883, clientID: String = "dtp-\(UUID().uuidString.prefix(8))",
        keepalive: Int = 30, session: Session = .cleanStart, username: String? = nil, password: String? = nil,
        tls: TLS? = nil, reconnectDelayMin: Duration = .seconds(1), reconnectDelayMax: Duration = .seconds(30),
        protocolVersion: ProtocolVersion = .v5, messageBufferCapacity: Int = 1024
    ) {
        self.host = host
        self.port = port
        self.clientID = clientID
        self.keepalive = keepalive
        self.session = session
        self.username = username
        self.password = password
        self.tls = tls
        self.reconnectDelayMin = reconnectDelayMin
        self.reconnectDelayMax = reconnectDelayMax
        self.protocolVersion = protocolVersion
        self.messageBufferCapacity = messageBufferCapacity
    }

    /// A configuration from a broker URL: `mqtt://[user[:password]@]host[:port]` (port 1883), or `mqtts://`
    /// (port 8883, TLS with `caFile` when given, else the system's CA folder).
    public init(url: String, clientID: String = "dtp-\(UUID().uuidString.prefix(8))", caFile: String? = nil)
        throws(MQTTError)
    {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            let host = components.host, !host.isEmpty
        else { throw .invalidConfiguration("not a broker URL (mqtt://host:port): \(Self.redacted(url))") }
        let tls: TLS?
        switch scheme {
        case "mqtt", "tcp": tls = nil
        case "mqtts", "ssl", "tls": tls = TLS(caFile: caFile, caPath: caFile == nil ? "/etc/ssl/certs" : nil)
        default: throw .invalidConfiguration("unsupported broker URL scheme '\(scheme)' (use mqtt or mqtts)")
        }
        self.init(
            host: host, port: components.port ?? (tls == nil ? 1883 : 8883), clientID: clientID,
            username: components.user, password: components.password, tls: tls)
    }

    /// A configuration from `MQTT_BROKER_HOST`, `MQTT_BROKER_PORT`, `MQTT_USERNAME` and `MQTT_PASSWORD`.
    /// Host and port are required; the error names every missing or bad variable at once.
    public init(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        clientID: String = "dtp-\(UUID().uuidString.prefix(8))"
    ) throws(MQTTError) {
        var problems: [String] = []
        let host = environment["MQTT_BROKER_HOST"] ?? ""
        if host.isEmpty { problems.append("MQTT_BROKER_HOST is not set") }
        let port = environment["MQTT_BROKER_PORT"].flatMap(Int.init)
        if port == nil || !(1...65535).contains(port!) {
            problems.append("MQTT_BROKER_PORT is not a TCP port: '\(environment["MQTT_BROKER_PORT"] ?? "")'")
        }
        guard problems.isEmpty, let port else { throw .invalidConfiguration(problems.joined(separator: "; ")) }
        self.init(
            host: host, port: port, clientID: clientID,
            username: environment["MQTT_USERNAME"].flatMap { $0.isEmpty ? nil : $0 },
            password: environment["MQTT_PASSWORD"].flatMap { $0.isEmpty ? nil : $0 })
    }

    /// The settings, with the password shown only as present.
    public var description: String {
        var parts = ["\(tls == nil ? "mqtt" : "mqtts")://\(host):\(port)", "clientID=\(clientID)"]
        if let username { parts.append("username=\(username)") }
        if password != nil { parts.append("password=<redacted>") }
        switch session {
        case .cleanStart: parts.append("cleanStart")
        case .persistent(let expiry): parts.append("persistent(expiry: \(expiry))")
        }
        parts.append("keepalive=\(keepalive)s")
        parts.append("protocol=\(protocolVersion)")
        return "MQTTConfiguration(\(parts.joined(separator: ", ")))"
    }

    /// A URL fit for an error message: any user information is dropped.
    private static func redacted(_ url: String) -> String {
        guard let at = url.firstIndex(of: "@"), let scheme = url.firstRange(of: "://") else { return url }
        return String(url[..<scheme.upperBound]) + "<redacted>" + String(url[at...])
    }
}
