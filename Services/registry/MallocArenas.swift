import Foundation

/// Caps glibc's malloc arenas. glibc gives threads that allocate at the same time arenas of their own (up
/// to 8 per core), and each keeps the memory its thread freed; with a libpq thread per pooled connection
/// plus the event loops, the registry's RSS under load grew by some 20 MiB that way (`dtp-bench registry`:
/// peak 92 MiB with glibc's default, 72–79 MiB with two arenas, request rates within the run-to-run noise).
enum MallocArenas {
    /// Sets `M_ARENA_MAX` unless `MALLOC_ARENA_MAX` is in the environment (glibc then applied it at
    /// start-up). Call before the pool's threads start. `mallopt` is looked up at run time because the
    /// Glibc module does not export <malloc.h>; without glibc nothing happens.
    static func cap(_ arenas: Int32 = 2) {
        guard getenv("MALLOC_ARENA_MAX") == nil, let symbol = dlsym(nil, "mallopt") else { return }
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let mArenaMax: Int32 = -8  // M_ARENA_MAX in <malloc.h>
        _ = unsafeBitCast(symbol, to: Mallopt.self)(mArenaMax, arenas)
    }
}
