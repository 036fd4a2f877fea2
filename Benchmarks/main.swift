// dtp-bench: the performance figures, each measured side by side with its baseline in one run.
//
//   dtp-bench copy [rows]        COPY through DTPPostgres vs psql \copy of the same rows
//   dtp-bench mqtt [messages]    QoS 1 receive rate through DTPMQTT vs a bare C libmosquitto subscriber
//   dtp-bench influx [points]    InfluxDB writes through DTPInfluxDB vs curl posting the same line protocol
//   dtp-bench s3 [MiB]           S3 put and get throughput for one object
//   dtp-bench fleet [rate]       dtp-lift --fleet at QoS 0/1 vs a bare C libmosquitto publisher; idle RSS of both generators
//   dtp-bench registry [seconds] the registry (dtp-registry, built next to dtp-bench) at 32 connections
//   dtp-bench discovery [folders] dtp-discovery on that many twin folders: initial scan, RSS, save-to-SSE latency
//   dtp-bench gateway [streams] the gateway (dtp-gateway and dtp-registry) with 10,000 portal streams, logins, health
//   dtp-bench ingest [messages]  dtp-ingestor MQTT -> Postgres + InfluxDB at QoS 1/0 vs a C subscriber and psql \copy
//   dtp-bench all                every one of them with its default size
//
// Settings come from the local environment (.dtp/env, or DTP_HOME/env), as for the tests.
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
let which = arguments.first ?? "all"
let size = arguments.dropFirst().first.flatMap(Int.init)

let benchmarks: [String: @Sendable (Int?) async throws -> Void] = [
    "copy": { try await CopyBenchmark.run(rows: $0 ?? 500_000) },
    "mqtt": { try await MQTTReceiveBenchmark.run(messages: $0 ?? 100_000) },
    "influx": { try await InfluxWriteBenchmark.run(points: $0 ?? 200_000) },
    "s3": { try await S3ThroughputBenchmark.run(megabytes: $0 ?? 20) },
    "fleet": { try await FleetPublishBenchmark.run(rate: $0 ?? 20_000) },
    "registry": { try await RegistryBenchmark.run(seconds: $0 ?? 5) },
    "discovery": { try await DiscoveryBenchmark.run(folders: $0 ?? 10_000) },
    "gateway": { try await GatewayBenchmark.run(streams: $0 ?? 10_000) },
    "ingest": { try await IngestBenchmark.run(messages: $0 ?? 50_000) },
]
let order = ["copy", "mqtt", "influx", "s3", "fleet", "registry", "discovery", "gateway", "ingest"]

guard which == "all" || benchmarks[which] != nil else {
    FileHandle.standardError.write(Data("usage: dtp-bench \(order.joined(separator: "|"))|all [size]\n".utf8))
    exit(2)
}
var failed = false
for name in which == "all" ? order : [which] {
    do {
        try await benchmarks[name]!(which == "all" ? nil : size)
    } catch {
        FileHandle.standardError.write(Data("dtp-bench \(name): \(error)\n".utf8))
        failed = true
    }
}
fflush(nil)
exit(failed ? 1 : 0)
