import DTPModel
import Synchronization

/// A twin as far as the ingestor cares: the MQTT topics it declares and the units of its fields.
struct DeclaredTwin: Sendable, Equatable {
    var id: String
    /// The twin's `version` in the registry, so an older event never overwrites a newer listing.
    var version: Int
    /// The declared MQTT topic filters (`interfaces.data_streams`).
    var filters: [String]
    /// `metadata.units`: a unit per field name, for the observations of generic JSON payloads.
    var units: [String: String]

    /// The twin's streams, or nil when it stores nothing: deprecated and retired twins are not subscribed.
    init?(_ twin: Twin) {
        let status = twin.metadata["status"]?.stringValue.flatMap(LifecycleStatus.init(rawValue:))
        if status == .deprecated || status == .retired { return nil }
        id = twin.id
        version = twin.version
        filters = twin.interfaces.dataStreams.filter { $0.streamProtocol == .mqtt }.map(\.topic)
        var units: [String: String] = [:]
        if case .object(let members)? = twin.metadata["units"] {
            for (field, value) in members { if let unit = value.stringValue { units[field] = unit } }
        }
        self.units = units
        if filters.isEmpty { return nil }
    }
}

/// Which topics are stored and which twin each belongs to: the static filters plus every active twin's
/// declared streams.
struct TopicCatalog: Sendable {
    /// What a topic resolves to.
    struct Resolution: Sendable {
        /// The twin the message belongs to (the first, by id, whose stream matches), if any.
        var twin: DeclaredTwin?
        /// The filter that matched: the twin's stream, else the static filter; nil when undeclared.
        var stream: String?
        /// Every twin whose stream matches, for `stream_last_seen`.
        var twins: [(twin: String, stream: String)]
    }

    var staticFilters: [String]
    var twins: [String: DeclaredTwin] = [:]
    /// Bumped on every change, so caches of resolutions know when they are stale.
    var generation = 0

    /// The filters to subscribe to: the static ones and every active twin's.
    var filters: Set<String> {
        Set(staticFilters).union(twins.values.flatMap(\.filters))
    }

    /// The twins and filter that `topic` belongs to.
    func resolve(_ topic: String) -> Resolution {
        var matches: [(twin: String, stream: String)] = []
        for twin in twins.values {
            for filter in twin.filters where Self.matches(filter: filter, topic: topic) {
                matches.append((twin.id, filter))
                break
            }
        }
        matches.sort { $0.twin < $1.twin }
        if let first = matches.first {
            return Resolution(twin: twins[first.twin], stream: first.stream, twins: matches)
        }
        let stream = staticFilters.first { Self.matches(filter: $0, topic: topic) }
        return Resolution(twin: nil, stream: stream, twins: [])
    }

    /// MQTT topic matching: `+` is one level, a final `#` is the rest (including the parent level), and
    /// wildcards at the first level do not match topics that start with `$`.
    static func matches(filter: String, topic: String) -> Bool {
        if filter == topic { return true }
        if topic.hasPrefix("$"), filter.hasPrefix("+") || filter.hasPrefix("#") { return false }
        let filterLevels = filter.split(separator: "/", omittingEmptySubsequences: false)
        let topicLevels = topic.split(separator: "/", omittingEmptySubsequences: false)
        var index = 0
        while index < filterLevels.count {
            let level = filterLevels[index]
            if level == "#" { return true }
            guard index < topicLevels.count else { return false }
            if level != "+" && level != topicLevels[index] { return false }
            index += 1
        }
        return index == topicLevels.count
    }
}

/// The catalog shared by the registry watcher (writer) and the batch writer and subscriber (readers).
final class CatalogStore: Sendable {
    private struct State {
        var catalog: TopicCatalog
        var loaded: Bool
        var observers: [Int: AsyncStream<Void>.Continuation] = [:]
        var next = 0
    }

    private let state: Mutex<State>

    /// A store with the static filters; `loaded` is false until the registry's listing arrived (when a
    /// registry is configured), so that no message is judged undeclared before the twins are known.
    init(staticFilters: [String], loaded: Bool) {
        state = Mutex(State(catalog: TopicCatalog(staticFilters: staticFilters), loaded: loaded))
    }

    /// The current catalog.
    var catalog: TopicCatalog { state.withLock { $0.catalog } }

    /// Whether the registry's twins are known.
    var isLoaded: Bool { state.withLock { $0.loaded } }

    /// Changes the catalog and tells the observers.
    func update(markLoaded: Bool = false, _ change: (inout TopicCatalog) -> Void) {
        let observers = state.withLock { state in
            change(&state.catalog)
            state.catalog.generation += 1
            if markLoaded { state.loaded = true }
            return Array(state.observers.values)
        }
        for observer in observers { observer.yield() }
    }

    /// Wakes the observers without a change (so they can retry what failed).
    func touch() {
        let observers = state.withLock { Array($0.observers.values) }
        for observer in observers { observer.yield() }
    }

    /// A stream that yields once now and after every change.
    func changes() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        continuation.yield()
        let id = state.withLock { state in
            state.next += 1
            state.observers[state.next] = continuation
            return state.next
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.observers.removeValue(forKey: id) }
        }
        return stream
    }
}
