import Logging
import Synchronization

/// Sets up swift-log once per process.
public enum ServiceLogging {
    private static let bootstrapped = Mutex(false)

    /// Bootstraps logging to standard error at `level`; later calls only return a logger, since
    /// swift-log may be bootstrapped once per process (tests build many applications in one).
    public static func bootstrap(service: String, level: Logger.Level) -> Logger {
        let first = bootstrapped.withLock { done -> Bool in
            defer { done = true }
            return !done
        }
        if first {
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
        var logger = Logger(label: "dtp.\(service)")
        logger.logLevel = level
        return logger
    }
}
