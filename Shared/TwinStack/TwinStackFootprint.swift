#if canImport(Glibc)
    import Glibc
#endif

/// Keeps an idle generator small: a generator serves a UI and a few API calls, so one event loop thread
/// is plenty, whereas SwiftNIO's default is one per core (each with its stack and, with glibc, possibly
/// a malloc arena of its own).
public enum TwinStackFootprint {
    /// Call first thing in `main`, before the HTTP server starts. An explicit
    /// `NIO_SINGLETON_GROUP_LOOP_COUNT` in the environment wins.
    public static func trim() {
        // Read by SwiftNIO when its singleton event loop group (Hummingbird's default) is first used.
        setenv("NIO_SINGLETON_GROUP_LOOP_COUNT", "1", 0)
    }
}
