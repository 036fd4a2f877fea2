import DTPModel

/// A payload object's members, looked up by name.
///
/// A telemetry payload has a handful of members and the mapper looks up a dozen names in it per message:
/// comparing a few short names is cheaper than hashing every name looked up, so a small object is a list
/// scanned in order, and only a large one gets a dictionary.
struct PayloadMembers {
    /// The members in the order the payload (or, for the full parser's objects, its dictionary) gave them.
    let pairs: [(key: String, value: JSONValue)]
    /// The members by name, for objects of more than ``scanLimit`` members.
    private let table: [String: JSONValue]?

    /// The most members looked up by scanning.
    static let scanLimit = 16

    /// Members with unique names.
    init(pairs: [(key: String, value: JSONValue)]) {
        self.pairs = pairs
        table = pairs.count > Self.scanLimit ? Dictionary(pairs, uniquingKeysWith: { first, _ in first }) : nil
    }

    init(_ object: [String: JSONValue]) {
        pairs = object.map { (key: $0.key, value: $0.value) }
        table = object.count > Self.scanLimit ? object : nil
    }

    var isEmpty: Bool { pairs.isEmpty }

    subscript(key: String) -> JSONValue? {
        if let table { return table[key] }
        for pair in pairs where pair.key == key { return pair.value }
        return nil
    }
}
