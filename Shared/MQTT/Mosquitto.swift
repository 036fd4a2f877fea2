import CMosquitto
import DTPEssentials

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// libmosquitto's process-wide state, set up once.
enum MosquittoLibrary {
    /// `mosquitto_lib_init` is not thread-safe and must run once per process; a `static let` is initialised
    /// exactly once, atomically, on first use. Cleanup is left to process exit, since another client may
    /// still be running at any moment before it.
    private static let initialised: Int32 = mosquitto_lib_init()

    static func ensureInitialised() throws(MQTTError) {
        try check("mosquitto_lib_init", initialised)
    }
}

/// A `struct mosquitto *` that may cross threads.
///
/// `@unchecked Sendable` because libmosquitto, once `mosquitto_loop_start` runs its thread, guards every
/// piece of the client's state it shares between its API calls and its loop with its own mutexes: its
/// documentation allows publish, subscribe and disconnect from any thread. The handle's lifetime is
/// managed by ``MQTTClient``, which destroys it exactly once in `deinit`.
struct MosquittoHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}

/// Runs `body` on a thread of its own and returns its result, so that calls which block (DNS lookup, TCP
/// connect, joining the loop thread) never occupy a thread of Swift's cooperative pool.
func onDedicatedThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        DetachedThread.start {
            continuation.resume(returning: body())
        }
    }
}
