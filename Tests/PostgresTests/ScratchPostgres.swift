import DTPTestSupport
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A private PostgreSQL instance for a test that restarts its server, driven through
/// `scripts/dev-services scratch postgres ...`.
struct ScratchPostgres {
    let name: String
    let port: Int

    /// A fresh instance on a free port, started.
    static func start() async throws -> ScratchPostgres {
        let scratch = ScratchPostgres(
            name: "pgtest-" + UUID().uuidString.prefix(8).lowercased(), port: TestPorts.free())
        try await scratch.run(.start)
        return scratch
    }

    /// The instance's URL.
    func url() throws -> String { try DevServices.scratchPostgresURL(port: port) }

    /// Runs `dev-services scratch postgres NAME PORT ACTION` and waits for it.
    func run(_ action: DevServices.Action) async throws {
        try await DevServices.scratch(.postgres, name: name, port: port, action)
    }

    /// Stops the instance and deletes its data.
    func remove() async {
        try? await run(.stop)
        DevServices.removeScratch(.postgres, name: name)
    }
}
