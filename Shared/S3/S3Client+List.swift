import DTPHTTP
import Foundation

extension S3Client {
    /// One page of `ListObjectsV2` (at most `maxKeys`, and S3 never returns more than 1,000).
    public func listObjects(
        prefix: String? = nil, delimiter: String? = nil, continuationToken: String? = nil, maxKeys: Int? = nil
    ) async throws -> S3ListPage {
        var query: [(String, String)] = [("list-type", "2")]
        if let prefix { query.append(("prefix", prefix)) }
        if let delimiter { query.append(("delimiter", delimiter)) }
        if let continuationToken { query.append(("continuation-token", continuationToken)) }
        if let maxKeys { query.append(("max-keys", String(maxKeys))) }
        let response = try await send(request(.get, key: nil, query: query))
        guard response.isSuccess else { throw failure(response, key: nil) }
        guard let page = S3ListPage(xml: response.body) else {
            throw S3Error.invalidResponse.with(
                message: "listing is not ListBucketResult XML: \(String(decoding: response.body.prefix(300), as: UTF8.self))",
                status: response.status)
        }
        return page
    }

    /// Every object under `prefix`, following continuation tokens page by page.
    public func objects(prefix: String? = nil, pageSize: Int? = nil) -> S3ObjectSequence {
        S3ObjectSequence(client: self, prefix: prefix, pageSize: pageSize)
    }

    /// Every object under `prefix`, collected from all pages.
    public func listAllObjects(prefix: String? = nil, pageSize: Int? = nil) async throws -> [S3Object] {
        var all: [S3Object] = []
        for try await object in objects(prefix: prefix, pageSize: pageSize) { all.append(object) }
        return all
    }
}

/// The objects under a prefix, fetched a page at a time as iteration reaches them.
public struct S3ObjectSequence: AsyncSequence, Sendable {
    /// Each element is one object.
    public typealias Element = S3Object

    let client: S3Client
    let prefix: String?
    let pageSize: Int?

    /// An iterator that starts at the first page.
    public func makeAsyncIterator() -> Iterator { Iterator(sequence: self) }

    /// Walks the pages with their continuation tokens.
    public struct Iterator: AsyncIteratorProtocol {
        let sequence: S3ObjectSequence
        var buffer: [S3Object] = []
        var token: String?
        var done = false

        init(sequence: S3ObjectSequence) { self.sequence = sequence }

        /// The next object, or nil after the last page.
        public mutating func next() async throws -> S3Object? {
            while buffer.isEmpty {
                guard !done else { return nil }
                let page = try await sequence.client.listObjects(
                    prefix: sequence.prefix, continuationToken: token, maxKeys: sequence.pageSize)
                buffer = page.objects.reversed()
                token = page.nextContinuationToken
                done = !page.isTruncated || token == nil
            }
            return buffer.removeLast()
        }
    }
}
