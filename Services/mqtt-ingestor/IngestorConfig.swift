import DTPAuth
import DTPRegistryClient
import DTPInfluxDB
import DTPMQTT
import DTPModel
import DTPPostgres
import DTPServiceKit
import Foundation

/// Everything the ingestor reads from its environment, read once at start-up.
struct IngestorConfig: Sendable {
    /// Name, address, log level.
    var settings: ServiceSettings
    /// How the ingestor lists itself in the service registry, so the portal shows its health; nil in tests.
    var selfRegistration: SelfRegistration?
    /// `DTP_PG_URL`, else the libpq `PG*` variables.
    var postgres: PostgresConfiguration
    /// `DTP_INGEST_PG_POOL`: connections in the pool (batches are written one at a time; the rest serve
    /// `/api/last-data`).
    var poolSize = 3
    /// `DTP_INGEST_PG_WRITERS`: batches written to Postgres at the same time.
    var postgresWriters = 1
    /// `DTP_MQTT_URL` (with `DTP_MQTT_CA_FILE` for `mqtts://` under a private CA), else
    /// `MQTT_BROKER_HOST`/`MQTT_BROKER_PORT`; client id and session set here.
    var mqtt: MQTTConfiguration
    /// `DTP_INGEST_MQTT_CLIENT`: `auto` (the ingestor's own connection for plain-TCP MQTT 5, libmosquitto for
    /// TLS) or `libmosquitto` (always; the escape hatch should a broker and our connection disagree).
    var alwaysLibmosquitto = false
    /// `DTP_INGEST_GROUP`: the shared subscription group every replica joins.
    var group = "dtp-ingestor"
    /// `DTP_INGEST_SHARED`: subscribe as `$share/<group>/…` (replicas split the load) or plainly.
    var shared = true
    /// `DTP_INGEST_TOPICS`: filters stored whatever the registry says (the earlier simulator's by default).
    var staticTopics = ["dtp/sensors/#"]
    /// `INFLUX_*`: the InfluxDB that receives every message as line protocol; nil writes Postgres only.
    var influx: InfluxDBConfiguration?
    /// `DTP_REGISTRY_URL`: where the declared streams come from; nil subscribes to the static topics only.
    var registryURL: String?
    /// `DTP_SERVICE_TOKEN_INGESTOR`: the bearer token presented to the registry.
    var registryToken: Secret?
    /// `DTP_SERVICE_TOKENS` and `DTP_SERVICE_TOKEN_<NAME>`: tokens accepted on `/api/last-data`.
    var serviceTokens: [String: String] = [:]
    /// `DTP_JWT_SECRET`: the gateway's HS256 key, for user access tokens on `/api/last-data`.
    var jwtSecret: Secret?
    /// `DTP_SPOOL_DIR`: the write-ahead spool (one folder per client id below it).
    var spoolDirectory: String
    /// `DTP_SPOOL_MAX_BYTES`: the spool's bound; intake waits (TCP back-pressure) beyond it.
    var spoolMaxBytes: Int64 = 1 << 30
    /// `DTP_SPOOL_SEGMENT_BYTES`: the size at which the spool starts a new file.
    var spoolSegmentBytes: Int64 = 16 << 20
    /// `DTP_SPOOL_FSYNC_MS`: how often the spool is flushed to the disk (power loss; kill -9 needs none).
    var spoolSyncInterval: Duration = .milliseconds(200)
    /// `DTP_INGEST_BATCH_ROWS`: the most messages per batch.
    var batchMessages = 5000
    /// `DTP_INGEST_BATCH_MS`: how long a batch may wait to fill.
    var batchInterval: Duration = .milliseconds(100)
    /// `DTP_INGEST_RETRY_MAX_SECONDS`: the longest pause between retries of a failed store write.
    var retryMaxDelay: Duration = .seconds(5)
    /// `DTP_INGEST_DRAIN_SECONDS`: how long SIGTERM waits for the spool to drain into the stores.
    var drainTimeout: Duration = .seconds(25)
    /// `DTP_INGEST_MAX_FUTURE_SECONDS`: how far in the future a payload's `ts` may lie.
    var maxFuture: Duration = .seconds(300)
    /// `DTP_INGEST_REJECT_KEEP_BYTES`: how much of a rejected payload is kept.
    var rejectKeepBytes = 4096
    /// `DTP_TIMESCALE_COMPRESS_AFTER` / `DTP_TIMESCALE_RETENTION` (intervals such as `7 days`): policies
    /// on the observation hypertable, applied only where TimescaleDB is installed.
    var timescaleCompressAfter: String?
    var timescaleRetention: String?

    /// The largest payload accepted (256 KiB), as the issue and the README state.
    static let maxPayloadBytes = 256 * 1024

    /// A configuration given directly, as tests build it.
    init(
        settings: ServiceSettings, postgres: PostgresConfiguration, mqtt: MQTTConfiguration, spoolDirectory: String
    ) {
        self.settings = settings
        self.postgres = postgres
        self.mqtt = mqtt
        self.spoolDirectory = spoolDirectory
    }

    /// Reads every variable through `reader`, which collects all problems for one report.
    init(reader: inout ConfigReader) {
        settings = ServiceSettings(name: "ingestor", defaultPort: 8084, reader: &reader)
        selfRegistration = SelfRegistration(service: "ingestor", port: settings.port, reader: &reader)
        let environment = reader.environment
        let (postgres, problem) = PostgresConfiguration.forService(environment: environment, applicationName: "dtp-ingestor")
        if let problem { reader.report(problem.variable, problem.message) }
        self.postgres = postgres
        poolSize = reader.int("DTP_INGEST_PG_POOL", default: 3, in: 2...32)
        postgresWriters = reader.int("DTP_INGEST_PG_WRITERS", default: 1, in: 1...8)
        if postgresWriters >= poolSize {
            reader.report("DTP_INGEST_PG_WRITERS", "must be below DTP_INGEST_PG_POOL (\(poolSize))")
        }

        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "local"
        let clientID = reader.string("DTP_INGEST_CLIENT_ID", default: "dtp-ingestor-\(host)")
        let expiry = reader.seconds("DTP_INGEST_SESSION_EXPIRY_SECONDS", default: .seconds(7 * 86_400))
        var mqtt = MQTTConfiguration(host: "127.0.0.1", port: 1883, clientID: clientID)
        do {
            if let url = reader.optionalString("DTP_MQTT_URL") {
                let caFile = reader.optionalString("DTP_MQTT_CA_FILE")
                mqtt = try MQTTConfiguration(url: url, clientID: clientID, caFile: caFile)
                if caFile != nil, mqtt.tls == nil {
                    reader.report("DTP_MQTT_CA_FILE", "applies to an mqtts:// DTP_MQTT_URL only")
                }
            } else {
                mqtt = try MQTTConfiguration(environment: environment, clientID: clientID)
            }
        } catch {
            reader.report(environment["DTP_MQTT_URL"] == nil ? "MQTT_BROKER_HOST" : "DTP_MQTT_URL", error.message)
        }
        mqtt.session = .persistent(expiry: expiry)
        mqtt.reconnectDelayMin = .seconds(1)
        mqtt.reconnectDelayMax = .seconds(5)
        self.mqtt = mqtt
        switch reader.string("DTP_INGEST_MQTT_CLIENT", default: "auto").lowercased() {
        case "auto": alwaysLibmosquitto = false
        case "libmosquitto": alwaysLibmosquitto = true
        default:
            alwaysLibmosquitto = false
            reader.report("DTP_INGEST_MQTT_CLIENT", "must be auto or libmosquitto")
        }
        group = reader.string("DTP_INGEST_GROUP", default: "dtp-ingestor")
        if group.contains("/") || group.contains("+") || group.contains("#") {
            reader.report("DTP_INGEST_GROUP", "must not contain '/', '+' or '#'")
        }
        shared = reader.bool("DTP_INGEST_SHARED", default: true)
        staticTopics = reader.list("DTP_INGEST_TOPICS", default: ["dtp/sensors/#"])
        for topic in staticTopics where MQTTTopic.problem(inFilter: topic) != nil {
            reader.report("DTP_INGEST_TOPICS", "'\(topic)': \(MQTTTopic.problem(inFilter: topic) ?? "")")
        }
        do {
            influx = try InfluxDBConfiguration(environment: environment)
        } catch {
            reader.report("INFLUX_URL", "\(error)")
        }
        if var configuration = influx {
            // Compressing a write body costs more CPU (here and in InfluxDB) than it saves on the loopback.
            configuration.gzip = reader.bool(
                "DTP_INGEST_INFLUX_GZIP", default: !Self.isLoopback(URLComponents(string: configuration.url)?.host))
            influx = configuration
        }
        registryURL = reader.optionalString("DTP_REGISTRY_URL").map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        if registryURL != nil {
            registryToken = reader.secret("DTP_SERVICE_TOKEN_INGESTOR", minimumLength: 1)
        }
        let (tokens, badKeys) = ServiceTokens.parse(environment: environment)
        for key in badKeys { reader.report(key, "must be name:token pairs separated by commas") }
        serviceTokens = tokens
        if environment["DTP_JWT_SECRET"].map({ !$0.isEmpty }) == true {
            jwtSecret = reader.secret("DTP_JWT_SECRET", minimumLength: 32)
        }
        let home = environment["DTP_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? ".dtp"
        spoolDirectory = reader.string("DTP_SPOOL_DIR", default: home + "/spool/ingestor")
        spoolMaxBytes = Int64(reader.int("DTP_SPOOL_MAX_BYTES", default: 1 << 30, in: (1 << 20)...(1 << 42)))
        spoolSegmentBytes = Int64(reader.int("DTP_SPOOL_SEGMENT_BYTES", default: 16 << 20, in: (64 << 10)...(1 << 30)))
        spoolSyncInterval = .milliseconds(reader.int("DTP_SPOOL_FSYNC_MS", default: 200, in: 1...60_000))
        batchMessages = reader.int("DTP_INGEST_BATCH_ROWS", default: 5000, in: 1...100_000)
        batchInterval = .milliseconds(reader.int("DTP_INGEST_BATCH_MS", default: 100, in: 1...60_000))
        retryMaxDelay = reader.seconds("DTP_INGEST_RETRY_MAX_SECONDS", default: .seconds(5))
        drainTimeout = reader.seconds("DTP_INGEST_DRAIN_SECONDS", default: .seconds(25))
        maxFuture = reader.seconds("DTP_INGEST_MAX_FUTURE_SECONDS", default: .seconds(300))
        rejectKeepBytes = reader.int("DTP_INGEST_REJECT_KEEP_BYTES", default: 4096, in: 0...(1 << 20))
        timescaleCompressAfter = reader.optionalString("DTP_TIMESCALE_COMPRESS_AFTER")
        timescaleRetention = reader.optionalString("DTP_TIMESCALE_RETENTION")
        for (key, value) in [
            ("DTP_TIMESCALE_COMPRESS_AFTER", timescaleCompressAfter), ("DTP_TIMESCALE_RETENTION", timescaleRetention),
        ] {
            if let value, !value.allSatisfy({ $0.isLetter || $0.isNumber || $0 == " " }) {
                reader.report(key, "must be an interval such as '7 days'")
            }
        }
    }

    /// Whether `host` names this machine.
    static func isLoopback(_ host: String?) -> Bool {
        guard let host = host?.lowercased() else { return false }
        return host == "localhost" || host.hasPrefix("127.") || host == "::1" || host == "[::1]"
    }

    /// The folder of this client's spool: replicas sharing `DTP_SPOOL_DIR` never share a spool.
    var clientSpoolDirectory: String {
        let safe = String(mqtt.clientID.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
        return spoolDirectory + "/" + safe
    }
}
