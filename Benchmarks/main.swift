// dtp-bench: the performance figures, each measured side by side with its baseline in one run.
//
//   dtp-bench copy [rows]        COPY through DTPPostgres vs psql \copy of the same rows
//   dtp-bench mqtt [messages]    QoS 1 receive rate through DTPMQTT vs a bare C libmosquitto subscriber
//   dtp-bench influx [points]    InfluxDB writes through DTPInfluxDB vs curl posting the same line protocol
//   dtp-bench s3 [MiB]           S3 put and get throughput for one object
//   dtp-bench fleet [rate]       dtp-lift --fleet at QoS 0/1 vs a bare C libmosquitto publisher; idle RSS of both generators
//   dtp-bench all                every one of them with its default size
//
// Settings come from the local environment (.dtp/env, or DTP_HOME/env), as for the tests.
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
let which = arguments.first ?? "all"
let size = arguments.dropFirst().first.flatMap(Int.init)

switch which {
case "copy": try await CopyBenchmark.run(rows: size ?? 500_000)
case "mqtt": try await MQTTReceiveBenchmark.run(messages: size ?? 100_000)
case "influx": try await InfluxWriteBenchmark.run(points: size ?? 200_000)
case "s3": try await S3ThroughputBenchmark.run(megabytes: size ?? 20)
case "fleet": try await FleetPublishBenchmark.run(rate: size ?? 20_000)
case "all":
    try await CopyBenchmark.run(rows: 500_000)
    try await MQTTReceiveBenchmark.run(messages: 100_000)
    try await InfluxWriteBenchmark.run(points: 200_000)
    try await S3ThroughputBenchmark.run(megabytes: 20)
    try await FleetPublishBenchmark.run()
default:
    FileHandle.standardError.write(Data("usage: dtp-bench copy|mqtt|influx|s3|fleet|all [size]\n".utf8))
    exit(2)
}
