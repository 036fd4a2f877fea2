import DTPMQTT
import DTPTestSupport
import Foundation

/// Receive throughput of ``MQTTClient/messages`` against a bare C libmosquitto subscriber
/// (`Benchmarks/c/mqtt_sub.c`), on the same broker, with the same stream and client settings.
///
/// Each subscriber's persistent session is created first (subscribe, then disconnect); the publisher then
/// sends N QoS 1 messages (~100-byte JSON) that the broker queues for that session; finally the
/// subscriber connects and drains them. The rate is taken from the first to the last message, so it
/// measures receiving alone, and the publisher (the same code for both) cannot favour either side.
enum MQTTReceiveBenchmark {
    /// Runs both subscribers on `messages` messages, alternating, `rounds` times each (the machine is shared
    /// and noisy), and prints every rate, the medians and the ratio of the medians, wrapper/C.
    static func run(messages: Int = 100_000, rounds: Int = 3) async throws {
        let base = try brokerConfiguration()
        let subscriber = try buildCSubscriber()
        print("MQTT receive benchmark: \(messages) QoS 1 messages via \(base.host):\(base.port), \(rounds) rounds")
        var cRates: [Double] = []
        var swiftRates: [Double] = []
        for round in 1...rounds {
            let c = try await measure(messages: messages, base: base) { topic, clientID in
                try runCSubscriber(subscriber, base: base, topic: topic, count: messages, clientID: clientID)
            }
            let swift = try await measure(messages: messages, base: base) { topic, clientID in
                try await runSwiftSubscriber(base: base, topic: topic, count: messages, clientID: clientID)
            }
            cRates.append(c.rate)
            swiftRates.append(swift.rate)
            print(
                String(
                    format: "  round %d: C %8.0f msg/s (%.3f s)   Swift %8.0f msg/s (%.3f s)   ratio %.3f", round,
                    c.rate, c.seconds, swift.rate, swift.seconds, swift.rate / c.rate))
        }
        let c = median(cRates)
        let swift = median(swiftRates)
        print(String(format: "  median C libmosquitto subscriber : %8.0f msg/s", c))
        print(String(format: "  median Swift MQTTClient.messages : %8.0f msg/s", swift))
        print(String(format: "  ratio wrapper/C (medians)        : %.3f", swift / c))
    }

    private static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1
            ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    struct Measurement {
        var seconds: Double
        var rate: Double
    }

    /// Prepares a session, fills its queue, runs `subscriber` on it, and removes the session again.
    private static func measure(
        messages: Int, base: MQTTConfiguration,
        subscriber: (_ topic: String, _ clientID: String) async throws -> Measurement
    ) async throws -> Measurement {
        let id = UUID().uuidString.prefix(8)
        let topic = "dtp-bench/receive/\(id)"
        let clientID = "dtp-bench-sub-\(id)"
        var configuration = base
        configuration.clientID = clientID
        configuration.session = .persistent(expiry: .seconds(300))
        let session = try MQTTClient(configuration: configuration)
        try await session.connect()
        try await session.subscribe(to: topic, qos: .atLeastOnce)
        await session.disconnect()

        try await publish(messages, to: topic, base: base)
        let result = try await subscriber(topic, clientID)

        configuration.session = .cleanStart
        let cleanup = try MQTTClient(configuration: configuration)
        try await cleanup.connect()
        await cleanup.disconnect()
        return result
    }

    /// Publishes `count` QoS 1 messages with up to 1,000 awaiting their PUBACK at once.
    private static func publish(_ count: Int, to topic: String, base: MQTTConfiguration) async throws {
        var configuration = base
        configuration.clientID = "dtp-bench-pub-\(UUID().uuidString.prefix(8))"
        let publisher = try MQTTClient(configuration: configuration)
        try await publisher.connect()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for sequence in 0..<count {
                if sequence >= 1_000 { try await group.next() }
                group.addTask {
                    let payload =
                        #"{"seq":\#(sequence),"twin":"lift-0001","signal":"cabin.temperature","#
                        + #""value":21.53,"ts":"2026-11-29T12:00:00.000Z"}"#
                    try await publisher.publish(payload, to: topic, qos: .atLeastOnce)
                }
            }
            try await group.waitForAll()
        }
        await publisher.disconnect()
    }

    private static func runSwiftSubscriber(
        base: MQTTConfiguration, topic: String, count: Int, clientID: String
    ) async throws -> Measurement {
        var configuration = base
        configuration.clientID = clientID
        configuration.session = .persistent(expiry: .seconds(300))
        let client = try MQTTClient(configuration: configuration)
        try await client.connect()
        var received = 0
        var bytes = 0
        var first = ContinuousClock.now
        var last = first
        for await message in client.messages {
            if received == 0 { first = .now }
            received += 1
            bytes &+= message.payload.count
            if received == count {
                last = .now
                break
            }
        }
        await client.disconnect()
        guard received == count else { throw BenchmarkError("Swift subscriber got \(received) of \(count)") }
        let seconds = Double((last - first).components.attoseconds) / 1e18 + Double((last - first).components.seconds)
        return Measurement(seconds: seconds, rate: Double(count) / seconds)
    }

    private static func runCSubscriber(
        _ path: String, base: MQTTConfiguration, topic: String, count: Int, clientID: String
    ) throws -> Measurement {
        let output = try BenchProcess.output(of: path, [base.host, String(base.port), topic, String(count), clientID])
        var fields: [String: Double] = [:]
        for field in output.split(whereSeparator: \.isWhitespace) {
            let pair = field.split(separator: "=")
            if pair.count == 2, let value = Double(pair[1]) { fields[String(pair[0])] = value }
        }
        guard let seconds = fields["seconds"], let rate = fields["rate"] else {
            throw BenchmarkError("unexpected mqtt_sub output: \(output)")
        }
        return Measurement(seconds: seconds, rate: rate)
    }

    /// `.build/mqtt_sub`, compiled from `Benchmarks/c/mqtt_sub.c` when missing.
    private static func buildCSubscriber() throws -> String {
        let binary = ".build/mqtt_sub"
        if FileManager.default.isExecutableFile(atPath: binary) { return binary }
        _ = try BenchProcess.output(of: "/usr/bin/cc", ["-O2", "-o", binary, "Benchmarks/c/mqtt_sub.c", "-lmosquitto"])
        return binary
    }

    /// The shared broker of the local environment: `DTP_MQTT_URL`, else `MQTT_BROKER_HOST`/`MQTT_BROKER_PORT`.
    private static func brokerConfiguration() throws -> MQTTConfiguration {
        let environment = TestEnvironment.shared
        if let url = environment["DTP_MQTT_URL"] { return try MQTTConfiguration(url: url) }
        return try MQTTConfiguration(environment: environment.values)
    }

    struct BenchmarkError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}
