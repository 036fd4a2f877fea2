#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A POSIX thread for work that blocks (a C library's connect or join), without Foundation's `Thread`.
package enum DetachedThread {
    /// Runs `body` on a new detached thread.
    ///
    /// Should the system refuse a thread (it is out of them), `body` runs on the caller's thread instead:
    /// late, and blocking a thread it should not, but the work is done rather than silently dropped.
    package static func start(_ body: @escaping @Sendable () -> Void) {
        let context = Unmanaged.passRetained(Context(body: body)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        #if canImport(Glibc)
            var thread = pthread_t()
        #else
            var thread: pthread_t?
        #endif
        let result = pthread_create(&thread, &attributes, { raw in
            guard let raw else { return nil }
            let context = Unmanaged<Context>.fromOpaque(raw).takeRetainedValue()
            context.body()
            return nil
        }, context)
        if result != 0 {
            Unmanaged<Context>.fromOpaque(context).takeRetainedValue().body()
        }
    }

    private final class Context: Sendable {
        let body: @Sendable () -> Void

        init(body: @escaping @Sendable () -> Void) {
            self.body = body
        }
    }
}
