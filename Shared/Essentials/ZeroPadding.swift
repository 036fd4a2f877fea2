/// `String(format: "%04d", n)` without Foundation, whose `String(format:)` needs the full library.
extension BinaryInteger {
    /// The decimal digits of the value, left-padded with zeros to at least `width` characters (after the
    /// sign, for negative values).
    package func zeroPadded(to width: Int) -> String {
        let digits = String(self.magnitude)
        let padded = String(repeating: "0", count: max(0, width - digits.count)) + digits
        return self < 0 ? "-" + padded : padded
    }
}
