import Foundation
import Logging
import ServiceLifecycle

/// The running part of discovery: watch the roots, scan once, then follow changes, retry the registry,
/// and rescan periodically as the safety net.
struct DiscoveryService: Service {
    let engine: DiscoveryEngine
    let watcher: InotifyWatcher
    let config: DiscoveryConfig
    let logger: Logger

    func run() async throws {
        // Watches first, so that nothing changing during the initial scan goes unseen.
        let watcher = self.watcher
        let roots = config.roots
        let watched = await BlockingIO.run { roots.reduce(0) { $0 + watcher.watchTree($1) } }
        watcher.start()
        defer { watcher.stop() }
        let summary = await engine.fullScan()
        logger.info(
            "initial scan",
            metadata: [
                "folders_watched": "\(watched)", "files": "\(summary.files)", "registered": "\(summary.registered)",
                "unchanged": "\(summary.unchanged)", "failed": "\(summary.failed.count)",
                "queued": "\(summary.queued)", "duration_ms": "\(summary.durationMS)",
            ])
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await scopes in watcher.batches { await engine.process(scopes) }
                }
                group.addTask {
                    await engine.runSyncLoop(initialDelay: config.initialRetryDelay, maxDelay: config.maxRetryDelay)
                }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: config.rescanInterval)
                        if Task.isCancelled { return }
                        _ = await BlockingIO.run { roots.reduce(0) { $0 + watcher.watchTree($1) } }
                        _ = await engine.fullScan()
                    }
                }
                await group.next()
                group.cancelAll()
            }
        }
    }
}
