/// HTTP dates (RFC 9110 §5.6.7) without Foundation's `DateFormatter`: the preferred IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`) and the two obsolete forms a recipient must still accept, RFC 850
/// (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37 1994`).
package enum HTTPDate {
    /// Seconds since 1970-01-01 UTC, or nil when `text` is none of the three forms.
    package static func secondsSince1970(_ text: some StringProtocol) -> Int64? {
        let separators: Set<Character> = [" ", ",", "-", ":"]
        let tokens = text.split(whereSeparator: { separators.contains($0) }).map { String($0) }
        let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        func month(_ token: String) -> Int? { months.firstIndex(of: token.lowercased()).map { $0 + 1 } }
        let day: Int?, monthNumber: Int?, year: Int?, clock: ArraySlice<String>
        if tokens.count == 7, let asctimeMonth = month(tokens[1]) {
            (monthNumber, day, year, clock) = (asctimeMonth, Int(tokens[2]), Int(tokens[6]), tokens[3...5])
        } else if tokens.count == 8, tokens[7].uppercased() == "GMT" {
            (day, monthNumber, year, clock) = (Int(tokens[1]), month(tokens[2]), Int(tokens[3]), tokens[4...6])
        } else {
            return nil
        }
        guard var year, let monthNumber, let day, (1...31).contains(day),
            let hour = Int(clock[clock.startIndex]), let minute = Int(clock[clock.startIndex + 1]),
            let second = Int(clock[clock.startIndex + 2]), (0...23).contains(hour), (0...59).contains(minute),
            (0...60).contains(second)
        else { return nil }
        // RFC 850's two-digit year: RFC 9110 reads one more than 50 years ahead as the past century.
        if year < 100 { year += year < 70 ? 2000 : 1900 }
        let days = CivilDate.days(year: Int64(year), month: Int64(monthNumber), day: Int64(day))
        return days * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }
}
