import CCurl
import Foundation
import CCurlShim

/// curl_global_init must run exactly once per process before any other curl call, and is not
/// thread-safe; a global `let` is initialised lazily and exactly once, atomically.
private let curlGlobalInitResult: CURLcode = curl_global_init(Int(CURL_GLOBAL_DEFAULT))

/// Runs curl_global_init on first use; throws curl's message when it failed.
func curlGlobalInit() throws(HTTPClientError) {
    try curlCheck(curlGlobalInitResult, .transport, "curl_global_init")
}

/// The one gate for easy-handle calls: turns a `CURLcode` into an ``HTTPClientError`` of `kind` carrying
/// curl's text for the code (and `what`, the call that failed).
func curlCheck(_ code: CURLcode, _ kind: HTTPClientError, _ what: String) throws(HTTPClientError) {
    guard code != CURLE_OK else { return }
    let text = String(cString: curl_easy_strerror(code))
    throw kind.with(curlCode: Int(code.rawValue), message: "\(what): \(text)", request: nil)
}

/// The gate for multi-handle calls, with curl's text for the `CURLMcode`.
func curlMultiCheck(_ code: CURLMcode, _ what: String) throws(HTTPClientError) {
    guard code != CURLM_OK else { return }
    let text = String(cString: curl_multi_strerror(code))
    throw HTTPClientError.transport.with(curlCode: Int(code.rawValue), message: "\(what): \(text)", request: nil)
}

extension Duration {
    /// Whole milliseconds, at least 1 so that a tiny timeout never turns into curl's "no timeout" (0).
    var curlMilliseconds: Int {
        let (seconds, attoseconds) = components
        return max(1, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
    }
}
