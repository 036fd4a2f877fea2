import Crypto
import DTPHTTP
import DTPModel
import DTPPostgres
import DTPS3
import DTPTestSupport
import Foundation
import Testing

@testable import Registry

/// Artifacts against the shared S3 server (moto), each test in a bucket of its own that the registry
/// creates on first use.
@Suite("Artifacts")
struct ArtifactTests {
    static func s3Configuration(bucket: String) throws -> S3Configuration {
        let environment = TestEnvironment.shared
        return S3Configuration(
            endpoint: try environment.require("MINIO_ENDPOINT"), accessKey: try environment.require("MINIO_ACCESS_KEY"),
            secretKey: try environment.require("MINIO_SECRET_KEY"), bucket: bucket,
            region: environment["S3_REGION"] ?? "us-east-1")
    }

    /// A registry with artifact storage in a fresh bucket, which is emptied and deleted afterwards.
    func withArtifacts(
        maxBytes: Int = 64 << 20, _ body: (RegistryHarness, S3Client) async throws -> Void
    ) async throws {
        let bucket = "dtp-reg-" + UUID().uuidString.prefix(13).lowercased()
        let configuration = try Self.s3Configuration(bucket: bucket)
        let http = try HTTPClient()
        let s3 = S3Client(configuration: configuration, httpClient: http)
        do {
            try await RegistryHarness.with(configure: {
                $0.s3 = configuration
                $0.maxArtifactBytes = maxBytes
            }) { registry in try await body(registry, s3) }
        } catch {
            await Self.remove(s3, http)
            throw error
        }
        await Self.remove(s3, http)
    }

    static func remove(_ s3: S3Client, _ http: HTTPClient) async {
        for object in (try? await s3.listAllObjects()) ?? [] { try? await s3.deleteObject(key: object.key) }
        try? await s3.deleteBucket()
        await http.shutdown()
    }

    func put(
        _ registry: RegistryHarness, _ path: String, _ data: Data, contentType: String = "application/octet-stream"
    ) async throws -> DTPHTTP.HTTPResponse {
        try await registry.client.execute(
            DTPHTTP.HTTPRequest(
                method: .put, url: registry.baseURL + path,
                headers: ["Authorization": "Bearer \(registry.token)", "Content-Type": contentType], body: data))
    }

    func artifactEvents(_ registry: RegistryHarness) async throws -> [JSONValue] {
        try await registry.pool.query(
            "SELECT data FROM registry.event WHERE type = 'artifact.update' ORDER BY id"
        ).map { try JSONValue(jsonText: try $0.decode(String.self, at: 0)) }
    }

    static func payload(bytes: Int) -> Data {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<bytes).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    @Test("an artifact round-trips byte-exact through S3 with a matching checksum; delete removes blob and row")
    func roundTrip() async throws {
        try await withArtifacts { registry, s3 in
            #expect(try await registry.send(.post, "/api/registry/twins", body: twinBody("dt:Art", tenant: "blue")).status == 201)
            let data = Self.payload(bytes: 3 << 20 + 17)
            let path = "/api/registry/twins/dt:Art/artifacts/model%20v1.bin"
            let stored = try await put(registry, path, data, contentType: "application/x-model")
            #expect(stored.status == 201, "\(stored.bodyText)")
            let manifest = try RegistryHarness.json(stored)
            let expected = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
            #expect(manifest["sha256"]?.stringValue == expected)
            #expect(manifest["size"] == .int(data.count))
            #expect(manifest["name"] == "model v1.bin")
            #expect(manifest["key"] == "blue/dt:Art/model v1.bin")
            #expect(manifest["bucket"]?.stringValue == s3.configuration.bucket)
            #expect(manifest["content_type"] == "application/x-model")
            #expect(manifest["created_by"] == "service:discovery")

            let listed = try RegistryHarness.json(try await registry.send(.get, "/api/registry/twins/dt:Art/artifacts"))
            #expect(listed.arrayValue?.count == 1)
            #expect(listed[0]?["sha256"]?.stringValue == expected)

            // The download is a redirect to a presigned URL that needs no credentials.
            let redirect = try await registry.send(.get, path)
            #expect(redirect.status == 302)
            let location = try #require(redirect.headers.first(name: "Location"))
            let download = try await registry.client.execute(DTPHTTP.HTTPRequest(url: location))
            #expect(download.status == 200)
            #expect(download.body == data)
            let downloaded = SHA256.hash(data: download.body).map { String(format: "%02x", $0) }.joined()
            #expect(downloaded == expected)

            // Replacing answers 200 and records the new checksum.
            let smaller = Data("second version".utf8)
            let replaced = try await put(registry, path, smaller)
            #expect(replaced.status == 200)
            #expect(try RegistryHarness.json(replaced)["size"] == .int(smaller.count))
            #expect(try await s3.getObject(key: "blue/dt:Art/model v1.bin") == smaller)

            #expect(try await registry.send(.delete, path).status == 200)
            #expect(try RegistryHarness.json(try await registry.send(.get, "/api/registry/twins/dt:Art/artifacts")) == [])
            await #expect(throws: S3Error.noSuchKey) { try await s3.headObject(key: "blue/dt:Art/model v1.bin") }
            #expect(try await registry.send(.get, path).status == 404)
            #expect(try await registry.send(.delete, path).status == 404)

            let events = try await artifactEvents(registry)
            #expect(events.map { $0["payload"]?["op"]?.stringValue } == ["put", "put", "delete"])
            #expect(events.allSatisfy { $0["tenant"] == "blue" })
            #expect(events[0]["payload"]?["sha256"]?.stringValue == expected)
            #expect(events[2]["payload"]?["name"] == "model v1.bin")
        }
    }

    @Test("names that could be read as paths are refused, and nothing is stored")
    func unsafeNames() async throws {
        try await withArtifacts { registry, s3 in
            #expect(try await registry.send(.post, "/api/registry/twins", body: twinBody("dt:Safe")).status == 201)
            let names = [
                "%2E%2E", "a..b", "..%2Fetc%2Fpasswd", "a%2Fb", "a%5Cb", "line%0Abreak", "nul%00", "tab%09",
                String(repeating: "x", count: 201), "%ZZ",
            ]
            for name in names {
                let response = try await put(registry, "/api/registry/twins/dt:Safe/artifacts/\(name)", Data("x".utf8))
                #expect(response.status == 400, "\(name): \(response.status) \(response.bodyText)")
                #expect(try RegistryHarness.json(response)["detail"]?.stringValue?.hasPrefix("name:") == true)
                #expect(try await registry.send(.get, "/api/registry/twins/dt:Safe/artifacts/\(name)").status == 400)
                #expect(try await registry.send(.delete, "/api/registry/twins/dt:Safe/artifacts/\(name)").status == 400)
            }
            let longest = String(repeating: "y", count: 200)
            #expect(try await put(registry, "/api/registry/twins/dt:Safe/artifacts/\(longest)", Data("y".utf8)).status == 201)
            #expect(try await s3.listAllObjects().map(\.key) == ["demo/dt:Safe/\(longest)"])
            #expect(try await artifactEvents(registry).count == 1)
        }
    }

    @Test("unknown twins and artifacts are 404; a missing length is 411; an oversized body is 413")
    func refusals() async throws {
        try await withArtifacts(maxBytes: 1000) { registry, s3 in
            #expect(try await put(registry, "/api/registry/twins/dt:Nobody/artifacts/a.txt", Data("x".utf8)).status == 404)
            #expect(try await registry.send(.get, "/api/registry/twins/dt:Nobody/artifacts").status == 404)
            #expect(try await registry.send(.post, "/api/registry/twins", body: twinBody("dt:Lim")).status == 201)
            #expect(try await registry.send(.get, "/api/registry/twins/dt:Lim/artifacts/none.txt").status == 404)
            let tooLarge = try await put(registry, "/api/registry/twins/dt:Lim/artifacts/big.bin", Self.payload(bytes: 1001))
            #expect(tooLarge.status == 413)
            let chunked = try await registry.client.execute(
                DTPHTTP.HTTPRequest(
                    method: .put, url: registry.baseURL + "/api/registry/twins/dt:Lim/artifacts/chunked.bin",
                    headers: ["Authorization": "Bearer \(registry.token)"],
                    upload: .stream(length: nil) {
                        AsyncThrowingStream {
                            $0.yield(Data("abc".utf8))
                            $0.finish()
                        }
                    }))
            #expect(chunked.status == 411)
            #expect(try await put(registry, "/api/registry/twins/dt:Lim/artifacts/empty", Data()).status == 201)
            #expect(try await s3.getObject(key: "demo/dt:Lim/empty") == Data())
            // Still serving after the refusals.
            #expect(try await registry.send(.get, "/api/registry/twins/dt:Lim").status == 200)
        }
    }

    @Test("without S3 configured every artifact endpoint answers 503")
    func notConfigured() async throws {
        try await RegistryHarness.with { registry in
            #expect(try await registry.send(.post, "/api/registry/twins", body: twinBody("dt:NoS3")).status == 201)
            let responses = [
                try await put(registry, "/api/registry/twins/dt:NoS3/artifacts/a.txt", Data("x".utf8)),
                try await registry.send(.get, "/api/registry/twins/dt:NoS3/artifacts"),
                try await registry.send(.get, "/api/registry/twins/dt:NoS3/artifacts/a.txt"),
                try await registry.send(.delete, "/api/registry/twins/dt:NoS3/artifacts/a.txt"),
            ]
            for response in responses {
                #expect(response.status == 503)
                #expect(try RegistryHarness.json(response) == ["detail": "artifact storage is not configured"])
            }
        }
    }

    @Test("object keys are built from escaped segments that cannot climb out of their prefix")
    func keys() {
        #expect(ArtifactStorage.key(tenant: "demo", twin: "dt:A", name: "x.bin") == "demo/dt:A/x.bin")
        #expect(ArtifactStorage.key(tenant: "../other", twin: "..", name: "x") == "..%2Fother/%2E%2E/x")
        #expect(ArtifactStorage.key(tenant: "", twin: "t", name: "x") == "%/t/x")
    }
}
