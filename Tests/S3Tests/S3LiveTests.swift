import Crypto
import DTPHTTP
import DTPS3
import DTPTestSupport
import Foundation
import Testing

/// A bucket of its own on the shared S3 server (moto), emptied and deleted at the end.
struct ScratchBucket {
    let http: HTTPClient
    let client: S3Client

    static func configuration(bucket: String) throws -> S3Configuration {
        let environment = TestEnvironment.shared
        return S3Configuration(
            endpoint: try environment.require("MINIO_ENDPOINT"), accessKey: try environment.require("MINIO_ACCESS_KEY"),
            secretKey: try environment.require("MINIO_SECRET_KEY"), bucket: bucket,
            region: environment["S3_REGION"] ?? "us-east-1")
    }

    static func make() async throws -> ScratchBucket {
        let bucket = "dtp-test-" + UUID().uuidString.prefix(13).lowercased()
        let http = try HTTPClient()
        let client = S3Client(configuration: try configuration(bucket: bucket), httpClient: http)
        #expect(try await client.createBucketIfMissing())
        return ScratchBucket(http: http, client: client)
    }

    func finish() async {
        if let objects = try? await client.listAllObjects() {
            await withTaskGroup(of: Void.self) { group in
                for object in objects { group.addTask { try? await client.deleteObject(key: object.key) } }
            }
        }
        try? await client.deleteBucket()
        await http.shutdown()
    }
}

func sha256Hex(_ data: Data) -> String { SigV4Signer.hex(SHA256.hash(data: data)) }

/// 20 MiB of bytes that differ from block to block, so a misplaced chunk cannot go unnoticed.
func testPayload(megabytes: Int) -> Data {
    var generator = SystemRandomNumberGenerator()
    var data = Data(count: megabytes << 20)
    data.withUnsafeMutableBytes { raw in
        let words = raw.bindMemory(to: UInt64.self)
        for index in words.indices { words[index] = generator.next() }
    }
    return data
}

@Suite("S3 client against the moto S3 server")
struct S3LiveTests {
    @Test func aTwentyMebibyteObjectRoundTripsByteForByte() async throws {
        let scratch = try await ScratchBucket.make()
        let payload = testPayload(megabytes: 20)
        let expected = sha256Hex(payload)

        let put = try await scratch.client.putObject(payload, key: "big/data.bin", metadata: ["origin": "test"])
        #expect(put.sha256 == expected)
        let head = try await scratch.client.headObject(key: "big/data.bin")
        #expect(head.contentLength == Int64(payload.count))
        #expect(head.metadata["origin"] == "test")

        // Streamed get: hash as the chunks arrive, and keep them to compare byte for byte.
        let (digest, received) = try await scratch.client.getObject(key: "big/data.bin") { info, body in
            #expect(info.contentLength == Int64(payload.count))
            var hasher = SHA256()
            var received = Data()
            for try await chunk in body {
                hasher.update(data: chunk)
                received.append(chunk)
            }
            return (SigV4Signer.hex(hasher.finalize()), received)
        }
        #expect(digest == expected)
        #expect(received == payload)

        // The same from a file, streamed by curl, with the file's SHA-256 signing the request.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("s3-\(UUID().uuidString)").path
        try payload.write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let filePut = try await scratch.client.putObject(fileAt: path, key: "big/file.bin")
        #expect(filePut.sha256 == expected)
        #expect(sha256Hex(try await scratch.client.getObject(key: "big/file.bin")) == expected)

        let range = try await scratch.client.getObject(key: "big/file.bin", range: 1000...1999) { _, body in
            var data = Data()
            for try await chunk in body { data.append(chunk) }
            return data
        }
        #expect(range == payload[1000...1999])
        await scratch.finish()
    }

    @Test func aStreamedPutCarriesItsSHA256OrSaysUnsigned() async throws {
        let scratch = try await ScratchBucket.make()
        let chunks = (0..<40).map { Data(repeating: UInt8($0), count: 50_000) }
        let whole = chunks.reduce(Data(), +)
        let stream: @Sendable () -> AsyncThrowingStream<Data, any Error> = {
            AsyncThrowingStream { continuation in
                for chunk in chunks { continuation.yield(chunk) }
                continuation.finish()
            }
        }
        try await scratch.client.putObject(
            key: "streamed", length: Int64(whole.count), sha256: sha256Hex(whole), from: stream)
        #expect(try await scratch.client.getObject(key: "streamed") == whole)
        try await scratch.client.putObject(key: "unsigned", length: Int64(whole.count), sha256: nil, from: stream)
        #expect(try await scratch.client.getObject(key: "unsigned") == whole)

        // The checksum travels as x-amz-checksum-sha256 and is stored with the object. (moto does not
        // verify x-amz-content-sha256 against the body, so a wrong hash cannot be shown to be refused here.)
        let head = try await scratch.client.headObject(key: "streamed")
        #expect(head.checksumSHA256 == Data(SHA256.hash(data: whole)).base64EncodedString())
        await scratch.finish()
    }

    @Test func listingPaginatesPastOneThousandKeys() async throws {
        let scratch = try await ScratchBucket.make()
        let keys = (0..<1_100).map { String(format: "many/%05d.txt", $0) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            // At most 16 uploads in flight.
            var iterator = keys.makeIterator()
            for _ in 0..<16 {
                guard let key = iterator.next() else { break }
                group.addTask { try await scratch.client.putObject(Data(key.utf8), key: key) }
            }
            while try await group.next() != nil {
                if let key = iterator.next() {
                    group.addTask { try await scratch.client.putObject(Data(key.utf8), key: key) }
                }
            }
        }
        try await scratch.client.putObject(Data("other".utf8), key: "zzz-other")

        let first = try await scratch.client.listObjects(prefix: "many/")
        #expect(first.objects.count == 1_000)
        #expect(first.isTruncated)
        #expect(first.nextContinuationToken != nil)

        let all = try await scratch.client.listAllObjects(prefix: "many/")
        #expect(all.map(\.key) == keys)
        #expect(all.allSatisfy { $0.size == 14 })
        let paged = try await scratch.client.listAllObjects(prefix: "many/", pageSize: 300)
        #expect(paged.map(\.key) == keys)
        let everything = try await scratch.client.listAllObjects()
        #expect(everything.count == 1_101)
        await scratch.finish()
    }

    @Test func aPresignedURLFetchedWithCurlReturnsTheObject() async throws {
        let scratch = try await ScratchBucket.make()
        let body = Data("presigned \(UUID().uuidString)".utf8)
        try await scratch.client.putObject(body, key: "shared/doc one.txt", contentType: "text/plain")
        let url = scratch.client.presignedGetURL(key: "shared/doc one.txt", expires: .seconds(300))
        #expect(url.contains("X-Amz-Signature="))
        #expect(!url.contains(try TestEnvironment.shared.require("MINIO_SECRET_KEY")))

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-sS", "-f", url]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let fetched = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(fetched == body)
        await scratch.finish()
    }

    @Test func deleteThenHeadIsNotFound() async throws {
        let scratch = try await ScratchBucket.make()
        try await scratch.client.putObject(Data("x".utf8), key: "gone")
        _ = try await scratch.client.headObject(key: "gone")
        try await scratch.client.deleteObject(key: "gone")
        let error = try await #require(throws: S3Error.self) { try await scratch.client.headObject(key: "gone") }
        #expect(error == .noSuchKey)
        #expect(error.status == 404)
        await scratch.finish()
    }

    @Test func missingBucketsAndKeysAreDecodedFromS3sXML() async throws {
        let scratch = try await ScratchBucket.make()
        let missing = scratch.client.with(bucket: "dtp-missing-" + UUID().uuidString.prefix(8).lowercased())
        let bucketError = try await #require(throws: S3Error.self) { try await missing.getObject(key: "a") }
        #expect(bucketError == .noSuchBucket)
        #expect(bucketError.code == "NoSuchBucket")
        #expect(bucketError.status == 404)
        #expect(bucketError.description.hasPrefix("S3 NoSuchBucket (HTTP 404): "))
        let listError = try await #require(throws: S3Error.self) { try await missing.listObjects() }
        #expect(listError.code == "NoSuchBucket")
        await #expect(throws: S3Error.noSuchBucket) { try await missing.headBucket() }

        let keyError = try await #require(throws: S3Error.self) { try await scratch.client.getObject(key: "nope") }
        #expect(keyError == .noSuchKey)
        #expect(keyError.code == "NoSuchKey")
        #expect(keyError.message.contains("key does not exist"))
        #expect(!keyError.description.contains(try TestEnvironment.shared.require("MINIO_SECRET_KEY")))
        await scratch.finish()
    }

    @Test func bucketsAreCreatedOnceAndReportTheServer() async throws {
        let scratch = try await ScratchBucket.make()
        #expect(try await scratch.client.createBucketIfMissing() == false)
        let info = try await scratch.client.headBucket()
        #expect(info.server?.isEmpty == false)
        await scratch.finish()
    }

    @Test func aServerThatIsDownIsNamedInTheError() async throws {
        let http = try HTTPClient()
        let client = S3Client(
            configuration: S3Configuration(
                endpoint: "http://127.0.0.1:\(TestPorts.free())", accessKey: "AKID", secretKey: "very-secret-key"),
            httpClient: http)
        let error = try await #require(throws: S3Error.self) { try await client.headBucket() }
        #expect(error == .unavailable)
        #expect(error.description.hasPrefix("S3 "))
        #expect(error.description.contains("127.0.0.1"))
        #expect(!error.description.contains("very-secret-key"))
        await http.shutdown()
    }

    @Test func configurationComesFromTheEnvironment() throws {
        let config = try #require(
            try S3Configuration(environment: [
                "MINIO_ENDPOINT": "127.0.0.1:9000", "MINIO_ACCESS_KEY": "minio", "MINIO_SECRET_KEY": "s3cr3t-value",
            ]))
        #expect(config.endpoint == "http://127.0.0.1:9000")
        #expect(config.bucket == "dtp-artifacts")
        #expect(config.region == "us-east-1")
        #expect(config.addressing == .path)
        #expect(!config.description.contains("s3cr3t-value"))
        #expect(try S3Configuration(environment: [:]) == nil)
        let error = #expect(throws: S3Error.self) {
            try S3Configuration(environment: ["MINIO_ENDPOINT": "http://h", "S3_ADDRESSING": "sideways"])
        }
        let text = error.map { "\($0)" } ?? ""
        for name in ["MINIO_ACCESS_KEY", "MINIO_SECRET_KEY", "S3_ADDRESSING"] { #expect(text.contains(name)) }
    }
}
