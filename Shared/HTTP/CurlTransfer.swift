import CCurl
import CCurlShim
import Foundation

/// One request's easy handle and the buffers curl points into. Lives on the loop thread only: created
/// there, driven there by curl's callbacks, and freed there (deinit) after leaving the multi handle.
final class CurlTransfer {
    let sink: TransferSink
    let easy: UnsafeMutableRawPointer
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private var headerList: UnsafeMutablePointer<curl_slist>?
    /// A copy of the request body that curl reads from (and rewinds, when it retries on a fresh
    /// connection after a reused one turned out closed), freed with the handle.
    private let requestBody: UnsafeMutableRawBufferPointer
    private var responseHeaders = HTTPHeaders()
    private var headDelivered = false
    /// Set by the pre-request callback: the connection was up, so a timeout was not a connect timeout.
    private var connected = false
    private let requestDescription: String
    /// The producer of a streamed request body, stopped when the transfer goes.
    private var uploadPump: UploadPump?
    /// The file of a file upload, which curl's default read function reads; closed with the handle.
    private var uploadFile: UnsafeMutablePointer<FILE>?

    init(
        request: HTTPRequest, sink: TransferSink, defaultConnectTimeout: Duration, defaultTimeout: Duration?,
        userAgent: String?, uploadBufferSize: Int = 256 * 1024
    ) throws(HTTPClientError) {
        requestDescription = redactedDescription(method: request.method, url: request.url)
        guard let easy = curl_easy_init() else {
            throw HTTPClientError.transport.with(message: "curl_easy_init failed", request: requestDescription)
        }
        self.easy = easy
        self.sink = sink
        let body = request.body ?? Data()
        requestBody = .allocate(byteCount: max(body.count, 1), alignment: 1)
        _ = body.copyBytes(to: requestBody.bindMemory(to: UInt8.self))
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        do {
            try configure(request, defaultConnectTimeout, defaultTimeout, userAgent)
            if let upload = request.upload {
                try configureUpload(upload, method: request.method, bufferSize: uploadBufferSize)
            }
        } catch {
            throw error.with(message: error.message, request: requestDescription)
        }
    }

    deinit {
        uploadPump?.cancel()
        if let uploadFile { fclose(uploadFile) }
        curl_easy_cleanup(easy)
        curl_slist_free_all(headerList)
        errorBuffer.deallocate()
        requestBody.deallocate()
    }

    private func configure(
        _ request: HTTPRequest, _ defaultConnectTimeout: Duration, _ defaultTimeout: Duration?, _ userAgent: String?
    ) throws(HTTPClientError) {
        let me = Unmanaged.passUnretained(self).toOpaque()
        try set(dtp_curl_easy_setopt_pointer(easy, CURLOPT_ERRORBUFFER, errorBuffer), "CURLOPT_ERRORBUFFER")
        try set(dtp_curl_easy_setopt_string(easy, CURLOPT_URL, request.url), "CURLOPT_URL", .invalidURL)
        // Signals are process-wide; a threaded resolver needs no SIGALRM.
        try set(dtp_curl_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1), "CURLOPT_NOSIGNAL")
        try set(dtp_curl_easy_setopt_string(easy, CURLOPT_PROTOCOLS_STR, "http,https"), "CURLOPT_PROTOCOLS_STR",
            .invalidURL)

        let connectTimeout = request.connectTimeout ?? defaultConnectTimeout
        try set(
            dtp_curl_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, connectTimeout.curlMilliseconds),
            "CURLOPT_CONNECTTIMEOUT_MS")
        let total: Duration? =
            switch request.timeout {
            case .clientDefault: defaultTimeout
            case .unlimited: nil
            case .after(let duration): duration
            }
        try set(dtp_curl_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, total?.curlMilliseconds ?? 0), "CURLOPT_TIMEOUT_MS")

        try set(dtp_curl_easy_setopt_write_callback(easy, curlWrite), "CURLOPT_WRITEFUNCTION")
        try set(dtp_curl_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, me), "CURLOPT_WRITEDATA")
        try set(dtp_curl_easy_setopt_header_callback(easy, curlHeader), "CURLOPT_HEADERFUNCTION")
        try set(dtp_curl_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, me), "CURLOPT_HEADERDATA")
        try set(dtp_curl_easy_setopt_prereq_callback(easy, curlPrereq), "CURLOPT_PREREQFUNCTION")
        try set(dtp_curl_easy_setopt_pointer(easy, CURLOPT_PREREQDATA, me), "CURLOPT_PREREQDATA")

        var headers = request.headers
        switch request.method {
        case .head:
            try set(dtp_curl_easy_setopt_long(easy, CURLOPT_NOBODY, 1), "CURLOPT_NOBODY")
        case _ where request.upload != nil:
            break  // configureUpload sets the method
        case .get where request.body == nil:
            try set(dtp_curl_easy_setopt_long(easy, CURLOPT_HTTPGET, 1), "CURLOPT_HTTPGET")
        default:
            if request.body != nil || request.method == .post {
                try set(dtp_curl_easy_setopt_long(easy, CURLOPT_POST, 1), "CURLOPT_POST")
                try set(
                    dtp_curl_easy_setopt_off_t(
                        easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body?.count ?? 0)),
                    "CURLOPT_POSTFIELDSIZE_LARGE")
                try set(
                    dtp_curl_easy_setopt_pointer(easy, CURLOPT_POSTFIELDS, requestBody.baseAddress),
                    "CURLOPT_POSTFIELDS")
                // curl would otherwise wait for a `100 Continue` before sending bodies over 1 KiB.
                if !headers.contains(name: "Expect") { headers.add(name: "Expect", value: "") }
                if !headers.contains(name: "Content-Type") {
                    headers.add(name: "Content-Type", value: "application/octet-stream")
                }
            }
            if request.method != .post {
                try set(
                    dtp_curl_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, request.method.rawValue),
                    "CURLOPT_CUSTOMREQUEST")
            }
        }
        if request.upload != nil {
            // curl would otherwise wait for a `100 Continue` before sending the body.
            if !headers.contains(name: "Expect") { headers.add(name: "Expect", value: "") }
            if !headers.contains(name: "Content-Type") {
                headers.add(name: "Content-Type", value: "application/octet-stream")
            }
        }
        if let userAgent, !headers.contains(name: "User-Agent") {
            headers.add(name: "User-Agent", value: userAgent)
        }
        for (name, value) in headers {
            guard !name.isEmpty, !(name + value).contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else {
                throw HTTPClientError.invalidRequest.with(
                    message: "header \(name.debugDescription) has an empty name or a line break", request: nil)
            }
            // `Name;` is curl's spelling of a header sent with an empty value; `Name:` would remove it.
            let line = value.isEmpty ? (name == "Expect" ? "Expect:" : "\(name);") : "\(name): \(value)"
            guard let list = curl_slist_append(headerList, line) else {
                throw HTTPClientError.transport.with(message: "curl_slist_append failed", request: nil)
            }
            headerList = list
        }
        if let headerList {
            try set(dtp_curl_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, headerList), "CURLOPT_HTTPHEADER")
        }
    }

    /// A body read while sending: curl's upload mode, with the size, and either curl's own `fread` on the
    /// file or our read callback over the stream's buffer.
    private func configureUpload(_ upload: HTTPUpload, method: HTTPMethod, bufferSize: Int) throws(HTTPClientError) {
        try set(dtp_curl_easy_setopt_long(easy, CURLOPT_UPLOAD, 1), "CURLOPT_UPLOAD")
        if method != .put {
            try set(dtp_curl_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, method.rawValue), "CURLOPT_CUSTOMREQUEST")
        }
        try set(
            dtp_curl_easy_setopt_off_t(easy, CURLOPT_INFILESIZE_LARGE, curl_off_t(upload.length ?? -1)),
            "CURLOPT_INFILESIZE_LARGE")
        switch upload.source {
        case .file(let path):
            guard let file = fopen(path, "rb") else {
                throw HTTPClientError.invalidRequest.with(
                    message: "cannot open \(path): \(String(cString: strerror(errno)))", request: nil)
            }
            uploadFile = file
            try set(dtp_curl_easy_setopt_pointer(easy, CURLOPT_READDATA, file), "CURLOPT_READDATA")
        case .stream(let makeStream):
            let pump = UploadPump(highWater: bufferSize)
            uploadPump = pump
            let me = Unmanaged.passUnretained(self).toOpaque()
            try set(dtp_curl_easy_setopt_read_callback(easy, curlRead), "CURLOPT_READFUNCTION")
            try set(dtp_curl_easy_setopt_pointer(easy, CURLOPT_READDATA, me), "CURLOPT_READDATA")
            let sink = self.sink
            pump.start(makeStream) { sink.resumeTransfer() }
        }
    }

    private func set(
        _ code: CURLcode, _ what: String, _ kind: HTTPClientError = .invalidRequest
    ) throws(HTTPClientError) {
        try curlCheck(code, kind, what)
    }

    // MARK: Callbacks, on the loop thread.

    fileprivate func onHeader(_ line: UnsafeRawBufferPointer) {
        guard !headDelivered else { return }  // trailers of a chunked body
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty {
            let status = statusCode()
            if status >= 200 {
                headDelivered = true
                sink.deliver(head: HTTPResponseHead(status: status, headers: responseHeaders))
            } else {
                responseHeaders = HTTPHeaders()  // an interim 1xx response
            }
        } else if text.hasPrefix("HTTP/") {
            responseHeaders = HTTPHeaders()
        } else if let colon = text.firstIndex(of: ":") {
            let name = String(text[..<colon]).trimmingCharacters(in: .whitespaces)
            let value = String(text[text.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            responseHeaders.add(name: name, value: value)
        }
    }

    fileprivate func onWrite(_ bytes: UnsafeRawBufferPointer) -> Int {
        if !headDelivered {
            headDelivered = true
            sink.deliver(head: HTTPResponseHead(status: statusCode(), headers: responseHeaders))
        }
        switch sink.write(bytes) {
        case .accepted: return bytes.count
        case .pause: return Int(CURL_WRITEFUNC_PAUSE)
        }
    }

    fileprivate func onRead(_ buffer: UnsafeMutableRawBufferPointer) -> Int {
        switch uploadPump?.read(into: buffer) {
        case .bytes(let count)?: count
        case .pause?: Int(CURL_READFUNC_PAUSE)
        case .abort?, nil: Int(CURL_READFUNC_ABORT)
        }
    }

    fileprivate func onPrereq() {
        connected = true
    }

    // MARK: Completion.

    /// Tells the sink how the transfer ended, with curl's result mapped to an error kind.
    func complete(_ code: CURLcode) {
        let fallback = HTTPResponseHead(status: statusCode(), headers: responseHeaders)
        guard code != CURLE_OK else {
            sink.finish(.success(()), head: fallback)
            return
        }
        sink.finish(.failure(error(for: code)), head: fallback)
    }

    /// Ends the transfer with `error` (cancellation or shutdown), whatever curl was doing.
    func abandon(_ error: HTTPClientError) {
        sink.finish(.failure(error.with(message: error.message, request: requestDescription)), head: nil)
    }

    private func error(for code: CURLcode) -> HTTPClientError {
        let kind: HTTPClientError
        switch code {
        case CURLE_OPERATION_TIMEDOUT: kind = connected ? .timeout : .connectTimeout
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: kind = .dnsFailure
        case CURLE_COULDNT_CONNECT:
            var osError = 0
            _ = dtp_curl_easy_getinfo_long(easy, CURLINFO_OS_ERRNO, &osError)
            kind = osError == Int(ECONNREFUSED) ? .connectionRefused : .connectFailed
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL: kind = .invalidURL
        case CURLE_ABORTED_BY_CALLBACK: kind = .cancelled
        default: kind = .transport
        }
        if code == CURLE_ABORTED_BY_CALLBACK, let failure = uploadPump?.failure {
            return HTTPClientError.transport.with(
                curlCode: Int(code.rawValue), message: failure, request: requestDescription)
        }
        let buffered = String(cString: errorBuffer)
        let message = buffered.isEmpty ? String(cString: curl_easy_strerror(code)) : buffered
        return kind.with(curlCode: Int(code.rawValue), message: message, request: requestDescription)
    }

    private func statusCode() -> Int {
        var status = 0
        _ = dtp_curl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        return status
    }
}

// C callbacks: they capture nothing; the transfer comes back through curl's user-data pointer.

private func curlWrite(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ user: UnsafeMutableRawPointer?
) -> Int {
    guard let user else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(user).takeUnretainedValue()
    return transfer.onWrite(UnsafeRawBufferPointer(start: data, count: size * count))
}

private func curlRead(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ user: UnsafeMutableRawPointer?
) -> Int {
    guard let user, let data else { return Int(CURL_READFUNC_ABORT) }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(user).takeUnretainedValue()
    return transfer.onRead(UnsafeMutableRawBufferPointer(start: data, count: size * count))
}

private func curlHeader(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ user: UnsafeMutableRawPointer?
) -> Int {
    guard let user else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(user).takeUnretainedValue()
    transfer.onHeader(UnsafeRawBufferPointer(start: data, count: size * count))
    return size * count
}

private func curlPrereq(
    _ user: UnsafeMutableRawPointer?, _ : UnsafeMutablePointer<CChar>?, _ : UnsafeMutablePointer<CChar>?,
    _ : Int32, _ : Int32
) -> Int32 {
    if let user { Unmanaged<CurlTransfer>.fromOpaque(user).takeUnretainedValue().onPrereq() }
    return Int32(CURL_PREREQFUNC_OK)
}
