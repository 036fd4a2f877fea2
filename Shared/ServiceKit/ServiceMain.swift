#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif
import Hummingbird
import Logging

/// The start of every service executable: read the configuration, fail fast and fully, run.
public enum ServiceMain {
    /// Reads configuration with `configure`, then builds and runs the application it returns.
    ///
    /// A bad configuration prints one message naming every bad variable and exits with status 78
    /// (EX_CONFIG), so that process supervisors tell it apart from a crash.
    public static func run<App: ApplicationProtocol>(
        options: ServiceOptions,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        build: (inout ConfigReader) throws -> App
    ) async throws {
        var reader = ConfigReader(options.applied(to: environment))
        let app: App
        do {
            app = try build(&reader)
            try reader.finish()
        } catch let error as ConfigurationError {
            let message = Array("\(error)\n".utf8)
            _ = message.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
            exit(78)
        }
        try await app.runService()
    }
}
