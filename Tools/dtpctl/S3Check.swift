import DTPS3
import Foundation

/// S3 (MinIO, AWS or an S3-compatible test server): put, get and delete an object, comparing bytes.
enum S3Check {
    static func probe(_ environment: [String: String]) throws -> WiringCheck.Probe {
        guard let configuration = try S3Configuration(environment: environment) else {
            throw WiringCheck.NotConfigured(reason: "MINIO_ENDPOINT is not set")
        }
        return { http in
            let client = S3Client(configuration: configuration, httpClient: http)
            _ = try await client.createBucketIfMissing()
            let info = try await client.headBucket()
            let key = "dtp-wiring-check/\(UUID().uuidString)"
            let bytes = Data((0..<4096).map { _ in UInt8.random(in: 0...255) })
            try await client.putObject(bytes, key: key)
            let readBack = try await client.getObject(key: key)
            try await client.deleteObject(key: key)
            guard readBack == bytes else {
                throw Mismatch(description: "put \(bytes.count) bytes, got back \(readBack.count) different ones")
            }
            return (info.server, "object put, read back byte-exact and deleted in \(configuration.bucket)")
        }
    }
}
