/// Trimming that `FoundationEssentials` lacks (`trimmingCharacters(in:)` lives in full Foundation, whose
/// ICU data the twin generators must not load: their idle footprint is a goal).
extension StringProtocol {
    /// The text without leading and trailing spaces and tabs.
    package func trimmingWhitespace() -> String {
        trimming { $0 == " " || $0 == "\t" }
    }

    /// The text without leading and trailing whitespace, line breaks included.
    package func trimmingWhitespaceAndNewlines() -> String {
        trimming(\.isWhitespace)
    }

    private func trimming(_ drop: (Character) -> Bool) -> String {
        guard let first = firstIndex(where: { !drop($0) }), let last = lastIndex(where: { !drop($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
