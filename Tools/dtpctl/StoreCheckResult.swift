import Foundation

/// What one store's check found.
struct StoreCheckResult: Sendable, Encodable {
    enum Status: String, Sendable, Encodable { case ok, skip, fail }

    let store: String
    let status: Status
    /// Milliseconds from the first request to the read-back, for ok and fail.
    let latencyMs: Double?
    /// The server's own version string, when it says.
    let version: String?
    /// Why a store was skipped or failed, or what was checked.
    let detail: String

    enum CodingKeys: String, CodingKey {
        case store, status, version, detail
        case latencyMs = "latency_ms"
    }
}

/// Renders the results for people (a table) and for programs (JSON).
enum CheckReport {
    static func table(_ results: [StoreCheckResult]) -> String {
        let rows = results.map { result -> [String] in
            [
                result.store, result.status.rawValue,
                result.latencyMs.map { String(format: "%.1f ms", $0) } ?? "-",
                result.version ?? "-", result.detail,
            ]
        }
        let header = ["store", "status", "latency", "version", "detail"]
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated().dropLast() { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell.padding(toLength: widths[index] + 2, withPad: " ", startingAt: 0)
            }.joined()
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }

    static func json(_ results: [StoreCheckResult]) -> String {
        struct Report: Encodable {
            let ok: Bool
            let stores: [StoreCheckResult]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let report = Report(ok: !results.contains { $0.status == .fail }, stores: results)
        return String(decoding: (try? encoder.encode(report)) ?? Data("{}".utf8), as: UTF8.self)
    }
}
