import Crypto
import DTPHTTP
import DTPS3
import DTPTestSupport
import Foundation

/// S3 put and get throughput for one object through ``S3Client``, against the server `MINIO_ENDPOINT`
/// names, in a bucket of its own. Put includes hashing the payload (it signs the request).
enum S3ThroughputBenchmark {
    static func run(megabytes: Int, rounds: Int = 3) async throws {
        let environment = TestEnvironment.shared
        let bucket = "dtp-bench-" + UUID().uuidString.prefix(8).lowercased()
        let http = try HTTPClient()
        let client = S3Client(
            configuration: S3Configuration(
                endpoint: try environment.require("MINIO_ENDPOINT"), accessKey: try environment.require("MINIO_ACCESS_KEY"),
                secretKey: try environment.require("MINIO_SECRET_KEY"), bucket: bucket),
            httpClient: http)
        try await client.createBucketIfMissing()
        var payload = Data(count: megabytes << 20)
        payload.withUnsafeMutableBytes { raw in
            var generator = SystemRandomNumberGenerator()
            for index in raw.bindMemory(to: UInt64.self).indices { raw.bindMemory(to: UInt64.self)[index] = generator.next() }
        }
        let expected = SHA256.hash(data: payload)
        var puts: [Double] = []
        var gets: [Double] = []
        for round in 0..<rounds {
            let key = "bench/object-\(round)"
            let putStart = ContinuousClock.now
            try await client.putObject(payload, key: key)
            puts.append(Double(megabytes) / (ContinuousClock.now - putStart).seconds)
            let getStart = ContinuousClock.now
            let digest = try await client.getObject(key: key) { _, body in
                var hasher = SHA256()
                for try await chunk in body { hasher.update(data: chunk) }
                return hasher.finalize()
            }
            gets.append(Double(megabytes) / (ContinuousClock.now - getStart).seconds)
            guard digest == expected else { throw BenchmarkFailure(message: "get returned different bytes") }
            try await client.deleteObject(key: key)
        }
        try await client.deleteBucket()
        await http.shutdown()
        func summary(_ values: [Double]) -> String {
            let sorted = values.sorted()
            return String(format: "median %.1f MiB/s (min %.1f, max %.1f)", sorted[sorted.count / 2], sorted[0], sorted.last!)
        }
        print("S3 \(megabytes) MiB object, \(rounds) rounds:")
        print("  put \(summary(puts))")
        print("  get \(summary(gets)) (streamed, SHA-256 checked)")
    }
}
