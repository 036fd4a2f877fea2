import DTPHTTP
import DTPModel

/// Why a registry call failed: the registry answered with an error status, could not be reached, or sent
/// something that is not what its API promises.
public struct RegistryClientError: Error, CustomStringConvertible {
    private enum Code: Sendable, Hashable {
        case status
        case unreachable
        case malformed
    }

    private let code: Code
    /// The HTTP status the registry answered with; nil when there was no answer.
    public let status: Int?
    /// The registry's `detail`, or what went wrong on the way.
    public let detail: String

    private init(_ code: Code, status: Int?, detail: String) {
        self.code = code
        self.status = status
        self.detail = detail
    }

    /// The registry answered `status` with `detail` (its `{"detail": ...}` when the body has one).
    public static func status(_ status: Int, detail: String) -> RegistryClientError {
        RegistryClientError(.status, status: status, detail: detail)
    }

    /// The registry could not be reached (connect failure, timeout, broken transfer).
    public static func unreachable(_ reason: String) -> RegistryClientError {
        RegistryClientError(.unreachable, status: nil, detail: reason)
    }

    /// The registry's answer did not have the documented shape.
    public static func malformed(_ reason: String) -> RegistryClientError {
        RegistryClientError(.malformed, status: nil, detail: reason)
    }

    /// True when the same call may succeed later: the registry was unreachable, overloaded or failing
    /// (5xx, 429, 408), as opposed to refusing the request itself.
    public var isRetryable: Bool {
        switch code {
        case .unreachable: return true
        case .malformed: return false
        case .status: return status.map { $0 >= 500 || $0 == 429 || $0 == 408 } ?? false
        }
    }

    /// True for a 404.
    public var isNotFound: Bool { code == .status && status == 404 }

    /// True for a 412 (an `If-Match` or `If-None-Match` precondition failed).
    public var isPreconditionFailed: Bool { code == .status && status == 412 }

    /// Status and detail, or the reason there was no answer.
    public var description: String {
        switch code {
        case .status: return "registry answered \(status ?? 0): \(detail)"
        case .unreachable: return "registry unreachable: \(detail)"
        case .malformed: return "unexpected registry answer: \(detail)"
        }
    }

    /// The error for a non-2xx `response`, with the registry's `detail` when its body has one.
    static func from(_ response: HTTPResponse) -> RegistryClientError {
        let detail = (try? JSONValue(jsonText: response.bodyText))?["detail"]?.stringValue
        return .status(response.status, detail: detail ?? String(response.bodyText.prefix(500)))
    }
}
