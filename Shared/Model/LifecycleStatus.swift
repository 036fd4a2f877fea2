/// Where a twin is in its life, as `metadata.status` records it.
public enum LifecycleStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// Described but not built.
    case designed
    /// Built and registered; the default for a new twin.
    case instantiated
    /// Running and producing data.
    case active
    /// Gone from its source (e.g. its folder was removed) or soft-deleted; it can come back.
    case deprecated
    /// Final: a retired twin never changes status again.
    case retired

    /// Whether a twin in this status may move to `next`; only `retired` is final (staying retired is fine).
    public func canTransition(to next: LifecycleStatus) -> Bool {
        self != .retired || next == .retired
    }
}
