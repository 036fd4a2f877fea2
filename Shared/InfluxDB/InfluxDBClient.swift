import DTPEssentials
import DTPHTTPCore
import Logging

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A client for InfluxDB 1.x and 2.x over any ``HTTPTransport`` (the services' libcurl client, the
/// generators' NIO one): line protocol writes (gzip, retries on 429/503 honouring `Retry-After`, per-line
/// rejection reports) and InfluxQL queries.
///
/// ```swift
/// let influx = InfluxDBClient(configuration: config, httpClient: http)
/// try await influx.write([InfluxPoint(measurement: "lift", tags: ["car": "1"], fields: [("load", .float(0.4))])])
/// let rows = try await influx.query("SELECT load FROM lift").series.first?.rows
/// ```
///
/// The client is a value over the HTTP client, which it does not own: share one client per
/// process and shut it down yourself. For streams of points use ``makeWriter(batchSize:flushInterval:)``.
public struct InfluxDBClient: Sendable {
    /// The settings the client was made with.
    public let configuration: InfluxDBConfiguration
    let http: any HTTPTransport
    let logger: Logger

    /// A client for the server `configuration` names, sending through `httpClient`.
    public init(
        configuration: InfluxDBConfiguration, httpClient: any HTTPTransport, logger: Logger = Logger(label: "dtp.influxdb")
    ) {
        self.configuration = configuration
        self.http = httpClient
        self.logger = logger
    }

    // MARK: Ping

    /// What `/ping` says about the server.
    public struct Ping: Sendable {
        /// `X-Influxdb-Version`, e.g. `1.6.7~rc0` or `v2.7.1`.
        public var version: String?
        /// `X-Influxdb-Build`, e.g. `OSS`.
        public var build: String?
    }

    /// Asks `/ping` whether the server is up and which version it runs (for health and wiring checks).
    public func ping() async throws -> Ping {
        let request = HTTPRequest(
            method: .get, url: configuration.url + "/ping", timeout: .after(configuration.requestTimeout))
        let response = try await send(request)
        guard response.isSuccess else { throw failure(response, sentLines: nil, points: nil) }
        return Ping(
            version: response.headers.first(name: "X-Influxdb-Version"),
            build: response.headers.first(name: "X-Influxdb-Build"))
    }

    // MARK: Writes

    /// Writes `points` in one request, as line protocol at the configured precision.
    ///
    /// Throws ``InfluxDBError/rejectedPoints`` with the refused lines (numbered from 1 in the order of
    /// `points`) when the server refuses some, after having stored the others.
    public func write(_ points: [InfluxPoint]) async throws {
        guard !points.isEmpty else { return }
        let body = try LineProtocol.encodeBytes(points, precision: configuration.precision)
        try await write(lineProtocol: Data(body), points: points)
    }

    /// Writes lines that are already line protocol (newline-separated, timestamps in the configured
    /// precision) in one request.
    public func write(lineProtocol body: String) async throws {
        try await write(lineProtocol: Data(body.utf8), points: nil)
    }

    func write(lineProtocol body: Data, points: [InfluxPoint]?) async throws {
        var headers: HTTPHeaders = ["Content-Type": "text/plain; charset=utf-8", "Accept": "application/json"]
        addAuthorization(to: &headers)
        var payload = body
        if configuration.gzip {
            payload = try Gzip.compress(payload)
            headers.add(name: "Content-Encoding", value: "gzip")
        }
        let request = HTTPRequest(
            method: .post, url: writeURL(), headers: headers, body: payload,
            timeout: .after(configuration.requestTimeout))
        let response = try await send(request)
        guard response.isSuccess else {
            let text = String(decoding: body, as: UTF8.self)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            throw failure(response, sentLines: lines, points: points)
        }
    }

    /// The write endpoint with its query, for the configured API.
    func writeURL() -> String {
        switch configuration.api {
        case .v2:
            return configuration.url + "/api/v2/write?"
                + Self.query([
                    ("org", configuration.org ?? ""), ("bucket", configuration.bucket ?? ""),
                    ("precision", configuration.precision.rawValue),
                ])
        case .v1:
            return configuration.url + "/write?"
                + Self.query([("db", configuration.database), ("precision", configuration.precision.v1Name)])
        }
    }

    /// A batching writer over this client; see ``InfluxBatchWriter``.
    public func makeWriter(batchSize: Int = 5000, flushInterval: Duration? = .seconds(1)) -> InfluxBatchWriter {
        InfluxBatchWriter(client: self, batchSize: batchSize, flushInterval: flushInterval)
    }

    // MARK: Transport

    /// Sends `request`, retrying on 429 and 503 with backoff (or the server's `Retry-After`) until
    /// ``InfluxDBConfiguration/maxAttempts`` run out. Other statuses come back as they are.
    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        var attempt = 1
        while true {
            let response: HTTPResponse
            do {
                response = try await http.execute(request)
            } catch let error as HTTPClientError {
                if error == .cancelled { throw CancellationError() }
                throw InfluxDBError.unavailable.with(message: "cannot reach \(configuration.url): \(error.message)")
            }
            guard response.status == 429 || response.status == 503 else { return response }
            guard attempt < configuration.maxAttempts else {
                let said = Self.serverMessage(response)
                throw InfluxDBError.throttled.with(
                    message: "still \(response.status) after \(attempt) attempt(s): \(said)", status: response.status)
            }
            let delay = retryDelay(after: attempt, retryAfter: response.headers.first(name: "Retry-After"))
            logger.debug(
                "InfluxDB asked to retry",
                metadata: ["status": "\(response.status)", "attempt": "\(attempt)", "delay": "\(delay)"])
            try await Task.sleep(for: delay)
            attempt += 1
        }
    }

    /// The server's `Retry-After` (seconds or an HTTP date) if it gave one, else exponential backoff with
    /// jitter; capped at ``InfluxDBConfiguration/maxRetryDelay`` either way.
    func retryDelay(after attempt: Int, retryAfter: String?, now: Date = Date()) -> Duration {
        let cap = configuration.maxRetryDelay
        if let retryAfter, let delay = Self.parseRetryAfter(retryAfter, now: now) { return min(delay, cap) }
        let base = configuration.retryBaseDelay * (1 << min(attempt - 1, 20))
        let capped = min(base, cap)
        // Half fixed, half random: clients that failed together do not all come back together.
        return capped / 2 + capped / 2 * Double.random(in: 0...1)
    }

    /// `Retry-After` as a delay: delta-seconds, or an HTTP date (RFC 9110), in the past meaning now; nil
    /// when it is neither.
    public static func parseRetryAfter(_ value: String, now: Date = Date()) -> Duration? {
        let text = value.trimmingWhitespace()
        if let seconds = Int(text), seconds >= 0 { return .seconds(seconds) }
        if let seconds = HTTPDate.secondsSince1970(text) {
            let milliseconds = (Double(seconds) - now.timeIntervalSince1970) * 1000
            return .milliseconds(max(0, Int64(milliseconds.rounded(.up))))
        }
        return nil
    }

    func addAuthorization(to headers: inout HTTPHeaders) {
        if configuration.api == .v2, let token = configuration.token {
            headers.replaceOrAdd(name: "Authorization", value: "Token \(token)")
        } else if let username = configuration.username {
            // Basic auth rather than `u=`/`p=` in the URL, so the password stays out of server access logs.
            let credentials = Data("\(username):\(configuration.password ?? "")".utf8).base64EncodedString()
            headers.replaceOrAdd(name: "Authorization", value: "Basic \(credentials)")
        }
    }

    // MARK: Errors

    /// The error for a non-2xx answer, in the server's words.
    func failure(_ response: HTTPResponse, sentLines: [Substring]?, points: [InfluxPoint]?) -> InfluxDBError {
        let message = Self.serverMessage(response)
        let status = response.status
        switch status {
        case 401, 403:
            return InfluxDBError.unauthorized.with(message: message, status: status)
        case 404:
            return InfluxDBError.notFound.with(message: message, status: status)
        case 413:
            return InfluxDBError.tooLarge.with(message: message, status: status)
        case 400, 422:
            let lowered = message.lowercased()
            let partial =
                lowered.contains("partial write") || lowered.contains("unable to parse")
                || lowered.contains("failed to parse") || lowered.contains("field type conflict")
            guard partial, let sentLines else { return InfluxDBError.badRequest.with(message: message, status: status) }
            let rejected = RejectionParser.rejectedLines(in: message, sent: sentLines, points: points)
            return InfluxDBError.rejectedPoints.with(
                message: message, status: status, rejectedLines: rejected,
                droppedPoints: RejectionParser.droppedCount(in: message))
        default:
            return InfluxDBError.serverError.with(message: message, status: status)
        }
    }

    /// What the server said: `error` (1.x) or `message` (2.x) from a JSON body, else the
    /// `X-Influxdb-Error` header, else the body text.
    static func serverMessage(_ response: HTTPResponse) -> String {
        struct Body: Decodable {
            var error: String?
            var message: String?
        }
        if let body = try? JSONDecoder().decode(Body.self, from: response.body),
            let text = body.error ?? body.message, !text.isEmpty
        {
            return text
        }
        if let header = response.headers.first(name: "X-Influxdb-Error"), !header.isEmpty { return header }
        let text = response.bodyText.trimmingWhitespaceAndNewlines()
        return text.isEmpty ? "HTTP status \(response.status)" : String(text.prefix(2000))
    }

    // MARK: URLs

    /// `name=value` pairs joined with `&`, each percent-encoded for a query component.
    static func query(_ items: [(String, String)]) -> String {
        items.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
    }

    static func encode(_ text: String) -> String { text.percentEncoded() }
}
