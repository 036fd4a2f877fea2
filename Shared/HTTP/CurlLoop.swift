import CCurl
import CCurlShim
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The curl multi handle, shared so that other threads can call `curl_multi_wakeup` on it.
///
/// `@unchecked Sendable` because the pointer itself is not: every other use of the handle happens on the
/// loop thread, `curl_multi_wakeup` is the one call curl documents as safe from any thread, and
/// ``CurlLoop`` only makes it under its lock while the loop has not yet freed the handle.
struct MultiHandle: @unchecked Sendable {
    let raw: UnsafeMutableRawPointer
}

/// A dedicated thread that owns a curl multi handle and runs every transfer of one ``HTTPClient``.
///
/// Other threads talk to it only through ``submit(_:)``: commands are queued under a lock and the thread
/// is woken from `curl_multi_poll` with `curl_multi_wakeup`. Connections stay in the multi handle's
/// cache between transfers, so sequential requests to one server reuse one connection.
final class CurlLoop: Sendable {
    /// What other threads ask of the loop.
    enum Command: Sendable {
        case add(TransferSink, HTTPRequest)
        case cancel(UInt64)
        case resume(UInt64)
        case shutdown
    }

    struct Settings: Sendable {
        var connectTimeout: Duration
        var timeout: Duration?
        var userAgent: String?
        var logger: Logger
        var uploadBufferSize: Int = 256 * 1024
    }

    private struct State {
        var commands: [Command] = []
        var accepting = true
        var exited = false
        var exitWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let multi: MultiHandle
    private let settings: Settings
    private let state = Mutex(State())

    init(settings: Settings, maxConnectionsPerHost: Int) throws(HTTPClientError) {
        try curlGlobalInit()
        guard let raw = curl_multi_init() else {
            throw HTTPClientError.transport.with(message: "curl_multi_init failed", request: nil)
        }
        multi = MultiHandle(raw: raw)
        self.settings = settings
        do {
            try curlMultiCheck(
                dtp_curl_multi_setopt_long(raw, CURLMOPT_MAX_HOST_CONNECTIONS, maxConnectionsPerHost),
                "CURLMOPT_MAX_HOST_CONNECTIONS")
        } catch {
            curl_multi_cleanup(raw)
            throw error
        }
    }

    /// Starts the loop thread; the thread keeps the loop alive until it exits.
    func start() throws(HTTPClientError) {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&thread, nil, { context in
            let loop = Unmanaged<CurlLoop>.fromOpaque(context!).takeRetainedValue()
            loop.run()
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<CurlLoop>.fromOpaque(context).release()
            curl_multi_cleanup(multi.raw)
            throw HTTPClientError.transport.with(message: "pthread_create failed: \(rc)", request: nil)
        }
        // Nobody blocks in pthread_join (that would block a cooperative thread); ``shutdown()`` instead
        // awaits the loop's last act, which follows freeing the multi handle.
        pthread_detach(thread)
    }

    /// Queues `command` and wakes the loop; false once shutdown has begun.
    func submit(_ command: Command) -> Bool {
        state.withLock { state in
            guard state.accepting else { return false }
            state.commands.append(command)
            _ = curl_multi_wakeup(multi.raw)
            return true
        }
    }

    /// Fails every transfer with ``HTTPClientError/shutdown``, frees the multi handle and waits until the
    /// loop thread is done. Safe to call more than once.
    func shutdown() async {
        _ = state.withLock { state -> Bool in
            guard state.accepting else { return false }
            state.accepting = false
            state.commands.append(.shutdown)
            _ = curl_multi_wakeup(multi.raw)
            return true
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if state.exited { return true }
                state.exitWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    // MARK: The loop thread.

    private func run() {
        var transfers: [UInt64: CurlTransfer] = [:]
        var ids: [UnsafeMutableRawPointer: UInt64] = [:]

        func remove(_ id: UInt64) -> CurlTransfer? {
            guard let transfer = transfers.removeValue(forKey: id) else { return nil }
            ids[transfer.easy] = nil
            _ = curl_multi_remove_handle(multi.raw, transfer.easy)
            return transfer
        }

        running: while true {
            let commands = state.withLock { state in
                defer { state.commands = [] }
                return state.commands
            }
            for command in commands {
                switch command {
                case .add(let sink, let request):
                    guard !sink.isCompleted else { continue }  // cancelled before it got here
                    do {
                        let transfer = try CurlTransfer(
                            request: request, sink: sink, defaultConnectTimeout: settings.connectTimeout,
                            defaultTimeout: settings.timeout, userAgent: settings.userAgent,
                            uploadBufferSize: settings.uploadBufferSize)
                        try curlMultiCheck(curl_multi_add_handle(multi.raw, transfer.easy), "curl_multi_add_handle")
                        transfers[sink.id] = transfer
                        ids[transfer.easy] = sink.id
                    } catch {
                        sink.finish(.failure(error), head: nil)
                    }
                case .cancel(let id):
                    remove(id)?.abandon(.cancelled)
                case .resume(let id):
                    if let transfer = transfers[id] {
                        // May call the write callback right here with the data held back while paused.
                        _ = curl_easy_pause(transfer.easy, CURLPAUSE_CONT)
                    }
                case .shutdown:
                    break running
                }
            }

            var active: Int32 = 0
            let performed = curl_multi_perform(multi.raw, &active)
            if performed != CURLM_OK {
                settings.logger.error(
                    "curl_multi_perform failed",
                    metadata: ["error": "\(String(cString: curl_multi_strerror(performed)))"])
            }
            var queued: Int32 = 0
            while let message = curl_multi_info_read(multi.raw, &queued) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle,
                    let id = ids[easy], let transfer = remove(id)
                else { continue }
                transfer.complete(message.pointee.data.result)
            }
            _ = curl_multi_poll(multi.raw, nil, 0, 1000, nil)
        }

        for id in Array(transfers.keys) { remove(id)?.abandon(.shutdown) }
        // No command can arrive any more (`accepting` is false), so the handle can go.
        curl_multi_cleanup(multi.raw)
        let waiters = state.withLock { state in
            defer {
                state.exitWaiters = []
                state.exited = true
            }
            return state.exitWaiters
        }
        settings.logger.debug("HTTP client loop stopped")
        for waiter in waiters { waiter.resume() }
    }
}
