import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a program to completion for a test and returns its exit status and output.
///
/// The program is spawned with `posix_spawn` and reaped with `waitpid`, its output going to a file, and
/// it starts with every descriptor above stderr closed and no signal blocked or ignored. Servers that a
/// script leaves running would otherwise inherit a pipe (which then never reaches end-of-file) or the
/// socket through which Foundation's `Process` learns of the child's exit (so `waitUntilExit()` never
/// returns), and a broker inheriting the test thread's blocked SIGTERM would ignore a later stop and be
/// killed without saving its persistent sessions.
public enum ChildProcess {
    /// Runs `path` with `arguments` on a thread of its own, so that no cooperative thread waits for it.
    public static func run(
        _ path: String, _ arguments: [String], environment: [String: String]? = nil
    ) async throws -> (status: Int32, output: String) {
        let result: Result<(status: Int32, output: String), any Error> = await withCheckedContinuation {
            continuation in
            Thread {
                continuation.resume(returning: Result { try run(path, arguments, environment: environment) })
            }.start()
        }
        return try result.get()
    }

    /// Runs `path` with `arguments`, blocking the calling thread until it exits. The environment is this
    /// process's unless given.
    public static func run(
        _ path: String, _ arguments: [String], environment: [String: String]? = nil
    ) throws -> (status: Int32, output: String) {
        let outputPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("dtp-child-\(UUID().uuidString).out").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        // A shell closes every inherited descriptor above stderr, then becomes the program.
        let closeAndRun =
            #"for fd in /proc/$$/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-"; done; exec "$@""#
        let pid = try spawn(
            "/bin/bash", arguments: ["-c", closeAndRun, "bash", path] + arguments,
            environment: environment ?? ProcessInfo.processInfo.environment, output: outputPath)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { break }
        }
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        // A program killed by a signal reports 128 + the signal, as shells do.
        let exitStatus = status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return (exitStatus, output)
    }

    /// Starts `path` with `arguments` and `environment` and returns its pid without waiting: stdin from
    /// /dev/null, stdout and stderr to the file `output` (truncated, or appended to), no signal blocked or
    /// ignored. Tests and benchmarks start the services under test this way.
    public static func spawn(
        _ path: String, arguments: [String] = [], environment: [String: String], output: String,
        append: Bool = false
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(
            &actions, 1, output, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var envp = environment.map { strdup("\($0.key)=\($0.value)") }
        envp.append(nil)
        defer { envp.forEach { free($0) } }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var signals = sigset_t()
        sigemptyset(&signals)
        posix_spawnattr_setsigmask(&attributes, &signals)
        sigfillset(&signals)
        posix_spawnattr_setsigdefault(&attributes, &signals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .ENOEXEC) }
        return pid
    }
}
