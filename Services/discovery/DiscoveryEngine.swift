import DTPModel
import Foundation
import Logging
import Metrics

/// Keeps the registry in step with the twin files: what each file holds, which changes still have to
/// reach the registry, and the writes themselves.
///
/// Changes queue by twin id, so a newer change to a twin replaces an older one still waiting (the final
/// content wins) and nothing is lost while the registry is away: a failed write leaves its change queued
/// and the sync loop retries with backoff. One drain of the queue runs at a time.
actor DiscoveryEngine {
    /// A file the engine knows, with the twin id it last defined (kept while the file is invalid, so that a
    /// bad save never deregisters its twin).
    private struct KnownFile {
        var relative: String
        var outcome: FileOutcome
        var twinID: String?
    }

    private enum Change {
        case register(DiscoveredTwin)
        case retire
    }

    /// A registry write's outcome for one twin.
    private struct Outcome {
        var result: TwinResult
        var refusal: FileFailure?
    }

    private let scanner: TwinScanner
    private let link: RegistryLink
    private let logger: Logger
    private let roots: [String]
    /// Above this many queued changes, one drain reads the registry's list once and writes in bulk.
    private let bulkThreshold = 16

    private var files: [String: KnownFile] = [:]
    private var filesByTwin: [String: Set<String>] = [:]
    private var queue: [String: Change] = [:]
    private var writtenKeys: [String: Set<String>] = [:]
    private var refusals: [String: FileFailure] = [:]
    private var registered: Set<String> = []
    private var lastScan: Date?
    private var lastScanDurationMS: Int?
    private var lastRegistryError: String?
    private var draining = false
    private var drainWaiters: [CheckedContinuation<Void, Never>] = []
    private let kicks: AsyncStream<Void>
    private let kick: AsyncStream<Void>.Continuation

    private let scansMetric = Counter(label: "scans_total")
    private let failuresMetric = Counter(label: "file_errors_total")
    private let writesMetric = Counter(label: "registry_writes_total")
    private let registryErrorsMetric = Counter(label: "registry_errors_total")
    private let filesGauge = Gauge(label: "files_seen")
    private let twinsGauge = Gauge(label: "twins_registered")
    private let queueGauge = Gauge(label: "queued_changes")

    init(roots: [String], link: RegistryLink, logger: Logger) {
        self.roots = roots
        self.scanner = TwinScanner(roots: roots)
        self.link = link
        self.logger = logger
        (kicks, kick) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    // MARK: - Reading files

    /// Reads every root, queues every valid twin (so drift in the registry is repaired as well), and
    /// drains the queue once. With `orphans`, a file-defined twin whose file vanished while nobody
    /// watched is soft-deleted.
    func fullScan(orphans: Bool = true) async -> ScanSummary {
        let start = ContinuousClock.now
        let scanner = self.scanner
        let roots = self.roots
        let (observed, scopes, missingRoots) = await BlockingIO.run {
            let missing = roots.filter { TwinTree.folderIdentity($0) == nil }
            let scopes = roots.filter { !missing.contains($0) }.map { ScanScope.tree($0) }
            return (scanner.observe(scopes), scopes, missing)
        }
        apply(observed, scopes: scopes, requeueAll: true)
        scansMetric.increment()
        // A root that is missing (unmounted, mistyped) must not look like every twin file was deleted.
        if !missingRoots.isEmpty {
            logger.warning("twins root is not a folder; no twin is deprecated for lack of a file", metadata: ["roots": "\(missingRoots)"])
        }
        var summary = await drain(orphans: orphans && missingRoots.isEmpty)
        lastScan = Date()
        summary.files = observed.count
        summary.failed = currentFailures()
        summary.durationMS = Int((ContinuousClock.now - start).milliseconds)
        lastScanDurationMS = summary.durationMS
        summary.rows = observed.sorted { $0.relative < $1.relative }.map { file -> (file: String, twin: String, result: String) in
            switch file.outcome {
            case .twin(let twin):
                let fallback: TwinResult = summary.registryError == nil ? .unchanged : .queued
                let result = (summaryResults[twin.id] ?? fallback).rawValue
                return (file.relative, twin.id, refusals[file.relative].map { "refused: \($0.reason)" } ?? result)
            case .failed(let failure):
                return (file.relative, "-", "failed: " + (failure.line.map { "line \($0): " } ?? "") + failure.reason)
            }
        }
        if summary.registryError != nil { kick.yield() }
        return summary
    }

    /// Reads the scopes that changed and queues what they change.
    func process(_ scopes: [ScanScope]) async {
        let scanner = self.scanner
        let roots = self.roots
        let (observed, present) = await BlockingIO.run {
            // A root that vanished is left alone, as in a full scan.
            let present = scopes.filter { !roots.contains($0.path) || TwinTree.folderIdentity($0.path) != nil }
            return (scanner.observe(present), present)
        }
        apply(observed, scopes: present, requeueAll: false)
        if !queue.isEmpty { kick.yield() }
    }

    private func apply(_ observed: [ObservedFile], scopes: [ScanScope], requeueAll: Bool) {
        let seen = Set(observed.map(\.path))
        var affected: Set<String> = []
        for (path, known) in files where !seen.contains(path) && scopes.contains(where: { $0.contains(file: path) }) {
            setKnown(path, nil)
            refusals[known.relative] = nil
            if let id = known.twinID { affected.insert(id) }
            logger.info("twin file removed", metadata: ["file": "\(known.relative)"])
        }
        for file in observed {
            let old = files[file.path]
            switch file.outcome {
            case .twin(let twin):
                if old?.outcome == file.outcome && !requeueAll { continue }
                if let oldID = old?.twinID, oldID != twin.id { affected.insert(oldID) }
                if old?.outcome != file.outcome { refusals[file.relative] = nil }
                setKnown(file.path, KnownFile(relative: file.relative, outcome: file.outcome, twinID: twin.id))
                affected.insert(twin.id)
            case .failed(let failure):
                setKnown(file.path, KnownFile(relative: file.relative, outcome: file.outcome, twinID: old?.twinID))
                if old?.outcome != file.outcome {
                    failuresMetric.increment()
                    logger.warning(
                        "twin file not readable; its twin stays as it was",
                        metadata: [
                            "file": "\(failure.file)", "line": "\(failure.line.map(String.init) ?? "-")",
                            "reason": "\(failure.reason)",
                        ])
                }
            }
        }
        for id in affected { requeue(id) }
        filesGauge.record(files.count)
        queueGauge.record(queue.count)
    }

    private func setKnown(_ path: String, _ known: KnownFile?) {
        if let id = files[path]?.twinID {
            filesByTwin[id]?.remove(path)
            if filesByTwin[id]?.isEmpty == true { filesByTwin[id] = nil }
        }
        files[path] = known
        if let id = known?.twinID { filesByTwin[id, default: []].insert(path) }
    }

    /// Queues what twin `id` should now be: the content of a valid file defining it (the first by path
    /// when several do), nothing new while only invalid files name it, retired when no file does.
    private func requeue(_ id: String) {
        let paths = (filesByTwin[id] ?? []).sorted()
        let twins = paths.compactMap { path -> DiscoveredTwin? in
            if case .twin(let twin)? = files[path]?.outcome, twin.id == id { return twin }
            return nil
        }
        if let twin = twins.first {
            if twins.count > 1 {
                logger.warning("several files define one twin; the first wins", metadata: ["twin": "\(id)", "files": "\(paths)"])
            }
            queue[id] = .register(twin)
        } else if paths.isEmpty {
            queue[id] = .retire
        }
    }

    private func currentFailures() -> [FileFailure] {
        var failures = files.values.compactMap { known -> FileFailure? in
            if case .failed(let failure) = known.outcome { return failure }
            return nil
        }
        failures += refusals.values
        return failures.sorted { $0.file < $1.file }
    }

    // MARK: - Writing to the registry

    private var summaryResults: [String: TwinResult] = [:]

    /// Drains the queue until it is empty, retrying with backoff while the registry is unavailable. Runs
    /// until cancelled.
    func runSyncLoop(initialDelay: Duration, maxDelay: Duration) async {
        for await _ in kicks {
            var delay = initialDelay
            while !Task.isCancelled {
                let summary = await drain(orphans: false)
                guard summary.registryError != nil, !queue.isEmpty else { break }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, maxDelay)
            }
            if Task.isCancelled { return }
        }
    }

    /// Writes every queued change once (serialised with any other drain); changes the registry could not
    /// take go back into the queue unless a newer one replaced them meanwhile.
    private func drain(orphans: Bool) async -> ScanSummary {
        while draining { await withCheckedContinuation { drainWaiters.append($0) } }
        draining = true
        defer {
            draining = false
            if !drainWaiters.isEmpty { drainWaiters.removeFirst().resume() }
        }
        let changes = queue
        queue.removeAll()
        queueGauge.record(0)
        var outcomes: [String: Outcome] = [:]
        var summary = ScanSummary()
        do {
            if changes.count > bulkThreshold || orphans {
                try await writeInBulk(changes, orphans: orphans, into: &outcomes)
            } else {
                for (id, change) in changes.sorted(by: { $0.key < $1.key }) {
                    outcomes[id] = try await writeOne(id, change)
                }
            }
            if lastRegistryError != nil { logger.notice("registry reachable again") }
            lastRegistryError = nil
        } catch {
            registryErrorsMetric.increment()
            if lastRegistryError == nil {
                logger.warning("registry unavailable; changes stay queued", metadata: ["error": "\(error)"])
            }
            lastRegistryError = "\(error)"
            summary.registryError = "\(error)"
        }
        for (id, change) in changes where outcomes[id] == nil && queue[id] == nil { queue[id] = change }
        summaryResults = outcomes.mapValues(\.result)
        for outcome in outcomes.values {
            switch outcome.result {
            case .created, .updated: summary.registered += 1
            case .unchanged: summary.unchanged += 1
            case .deprecated: summary.deprecated += 1
            case .refused, .queued: break
            }
            if outcome.result != .unchanged && outcome.result != .refused { writesMetric.increment() }
            if let refusal = outcome.refusal {
                refusals[refusal.file] = refusal
                failuresMetric.increment()
                logger.warning(
                    "registry refused twin", metadata: ["file": "\(refusal.file)", "reason": "\(refusal.reason)"])
            }
        }
        summary.queued = queue.count
        queueGauge.record(queue.count)
        twinsGauge.record(registered.count)
        return summary
    }

    private func writeOne(_ id: String, _ change: Change) async throws -> Outcome {
        for _ in 0..<5 {
            let existing = try await link.twin(id)
            if let outcome = try await write(id, change, existing: existing) { return outcome }
        }
        throw RegistryUnavailable(description: "twin \(id) kept changing under discovery's writes")
    }

    /// One conditional write of `change` over `existing`; nil when the twin changed meanwhile (412).
    private func write(_ id: String, _ change: Change, existing: Twin?) async throws -> Outcome? {
        switch change {
        case .register(let twin):
            let merged = MergedTwin(twin, over: existing, previousKeys: writtenKeys[id])
            if let existing, merged.isUnchanged(from: existing) {
                recordRegistered(twin)
                return Outcome(result: .unchanged)
            }
            let answer = try await link.upsert(merged.jsonValue, etag: existing?.etag)
            return outcome(of: answer, for: twin, created: existing == nil)
        case .retire:
            guard let existing, existing.isFileDefined else {
                registered.remove(id)
                writtenKeys[id] = nil
                return Outcome(result: .unchanged)
            }
            if existing.status == .deprecated || existing.status == .retired {
                registered.remove(id)
                return Outcome(result: .unchanged)
            }
            let answer = try await link.softDelete(id, etag: existing.etag)
            if answer.status == 412 { return nil }
            registered.remove(id)
            writtenKeys[id] = nil
            if answer.status == 404 { return Outcome(result: .unchanged) }
            guard (200..<300).contains(answer.status) else {
                logger.warning("registry refused soft-delete", metadata: ["twin": "\(id)", "detail": "\(answer.detail ?? "")"])
                return Outcome(result: .refused)
            }
            logger.info("twin deprecated: its file is gone", metadata: ["twin": "\(id)"])
            return Outcome(result: .deprecated)
        }
    }

    private func outcome(of answer: RegistryLink.WriteResult, for twin: DiscoveredTwin, created: Bool) -> Outcome? {
        if answer.status == 412 { return nil }
        if (200..<300).contains(answer.status) {
            recordRegistered(twin)
            return Outcome(result: answer.status == 201 || created ? .created : .updated)
        }
        let file = String(twin.source.dropFirst(5))
        return Outcome(
            result: .refused,
            refusal: FileFailure(file: file, line: nil, reason: "registry refused: \(answer.detail ?? "HTTP \(answer.status)")"))
    }

    private func recordRegistered(_ twin: DiscoveredTwin) {
        registered.insert(twin.id)
        writtenKeys[twin.id] = Set(twin.metadata.keys)
    }

    /// Reads the registry's list once, writes the changed twins in bulk (1,000 per call) and soft-deletes
    /// retired ones; with `orphans`, file-defined twins whose file is no longer known are retired too.
    private func writeInBulk(_ changes: [String: Change], orphans: Bool, into outcomes: inout [String: Outcome]) async throws {
        let existing = Dictionary(try await link.allTwins().map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var pending: [(twin: DiscoveredTwin, body: JSONValue, created: Bool)] = []
        var retirements: [String] = []
        for (id, change) in changes.sorted(by: { $0.key < $1.key }) {
            switch change {
            case .register(let twin):
                let merged = MergedTwin(twin, over: existing[id], previousKeys: writtenKeys[id])
                if let current = existing[id], merged.isUnchanged(from: current) {
                    recordRegistered(twin)
                    outcomes[id] = Outcome(result: .unchanged)
                } else {
                    pending.append((twin, merged.jsonValue, existing[id] == nil))
                }
            case .retire:
                retirements.append(id)
            }
        }
        if orphans {
            let knownFiles = Set(files.values.map(\.relative))
            for (id, twin) in existing where changes[id] == nil && filesByTwin[id] == nil && twin.isFileDefined {
                guard let file = twin.sourceFile, !knownFiles.contains(file),
                    twin.status != .deprecated, twin.status != .retired
                else { continue }
                retirements.append(id)
            }
        }
        var start = 0
        while start < pending.count {
            let chunk = pending[start..<min(start + 1000, pending.count)]
            let results = try await link.bulk(chunk.map(\.body))
            for (item, result) in zip(chunk, results) {
                let answer = RegistryLink.WriteResult(status: result.status, detail: result.detail)
                outcomes[item.twin.id] = outcome(of: answer, for: item.twin, created: item.created)
            }
            start += 1000
        }
        for id in retirements {
            if let current = existing[id], let outcome = try await write(id, .retire, existing: current) {
                outcomes[id] = outcome
            } else {
                outcomes[id] = try await writeOne(id, .retire)
            }
        }
    }

    // MARK: - Status

    /// `GET /status`.
    func status() -> JSONValue {
        [
            "roots": .array(roots.map { .string($0) }),
            "last_scan": lastScan.map { .string(Timestamp($0).iso8601) } ?? .null,
            "last_scan_duration_ms": lastScanDurationMS.map { .int($0) } ?? .null,
            "files_seen": .int(files.count),
            "twins_registered": .int(registered.count),
            "queued": .int(queue.count),
            "registry_error": lastRegistryError.map { .string($0) } ?? .null,
            "errors": .array(currentFailures().map(\.jsonValue)),
        ]
    }

    /// Whether nothing waits for the registry.
    var isIdle: Bool { queue.isEmpty && !draining }
}

extension Duration {
    /// The duration in milliseconds.
    var milliseconds: Double { Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15 }
}
