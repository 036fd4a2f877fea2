/// Rules for MQTT topic names and filters (MQTT 3.1.1 §4.7, MQTT 5 §4.7).
public enum MQTTTopic {
    /// Why `filter` is not a valid MQTT topic filter, or `nil` when it is.
    ///
    /// A twin's data stream may declare a filter (`dtp/site/+/telemetry`, `dtp/lift/#`): `+` must fill a
    /// whole level, `#` must fill the last level, and the filter must be non-empty UTF-8 without NUL and
    /// at most 65535 bytes.
    public static func problem(inFilter filter: String) -> String? {
        if filter.isEmpty { return "topic is empty" }
        if filter.utf8.count > 65_535 { return "topic is longer than 65535 bytes" }
        if filter.unicodeScalars.contains("\u{0}") { return "topic contains a NUL character" }
        let levels = filter.split(separator: "/", omittingEmptySubsequences: false)
        for (index, level) in levels.enumerated() {
            if level.contains("#") {
                guard level == "#" else { return "'#' must be a whole topic level" }
                guard index == levels.count - 1 else { return "'#' must be the last topic level" }
            }
            if level.contains("+"), level != "+" { return "'+' must be a whole topic level" }
        }
        return nil
    }

    /// Why `name` is not a valid topic name to publish to (no wildcards), or `nil` when it is.
    public static func problem(inName name: String) -> String? {
        if let problem = problem(inFilter: name) { return problem }
        if name.contains("+") || name.contains("#") { return "a topic to publish to cannot contain '+' or '#'" }
        return nil
    }

    /// Whether `filter` contains a wildcard level.
    public static func isWildcard(_ filter: String) -> Bool {
        filter.contains("+") || filter.contains("#")
    }
}
