import DTPInfluxDB
import Logging

/// Writes a batch's points to InfluxDB in one request through the store client (v2 with a token, or v1).
///
/// Points are idempotent by nature (same measurement, tags and time overwrite), so a batch written again
/// after a crash stores nothing twice.
struct InfluxSink: Sendable {
    let client: InfluxDBClient
    let logger: Logger

    /// What a write did with points the server refused for their content.
    enum Outcome: Equatable {
        case written
        /// The server refused this many points (a field type conflict, say); they are dropped, not retried.
        case refused(Int)
    }

    /// Writes `points`. Throws when InfluxDB is unreachable or failing (the caller retries); returns
    /// `.refused` when the server refused points for their content, which no retry would change.
    func write(_ points: [InfluxPoint]) async throws -> Outcome {
        try await write(points, databaseCreated: false)
    }

    private func write(_ points: [InfluxPoint], databaseCreated: Bool) async throws -> Outcome {
        guard !points.isEmpty else { return .written }
        do {
            try await client.write(points)
            return .written
        } catch let error as InfluxDBError {
            switch error {
            case .rejectedPoints:
                return .refused(error.droppedPoints ?? error.rejectedLines.count)
            case .badRequest, .invalidPoint, .tooLarge:
                logger.error("InfluxDB refused a batch", metadata: ["error": "\(error)", "points": "\(points.count)"])
                return .refused(points.count)
            case .notFound where client.configuration.api == .v1 && !databaseCreated:
                // The 1.x database went missing (or never existed): create it and write again at once (a
                // second failure goes to the caller, who retries with backoff).
                try await client.createDatabase(client.configuration.database)
                return try await write(points, databaseCreated: true)
            default:
                throw error
            }
        }
    }
}
