import DTPModel
import Foundation
import Testing

/// Random specs written to YAML and JSON read back equal.
@Suite struct RoundTripPropertyTests {
    static let idAlphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:._-")
    static let textPieces = [
        "Lift", "Wärmepumpe", "東京タワー", "🚀", "naïve café", "Ωμέγα", "true", "null", "1", "2.5", "yes", "~",
        "- item", "a: b", "#hash", "@at", "*star", "&amp", "!bang", "'q'", "\"dq\"", " lead", "trail ",
        "multi\nline",
        "tab\there", "{x}", "[y]", "%p", "2024-01-01", "0x1F", ".nan", "=", "<<", "", "\\", "é\u{301}", "\u{85}",
    ]

    struct Generator {
        var random: SplitMix64

        mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &random) }

        mutating func bool() -> Bool { Bool.random(using: &random) }

        mutating func text() -> String {
            (0..<int(1...3)).map { _ in textPieces.randomElement(using: &random)! }.joined()
        }

        mutating func id() -> String {
            String((0..<int(1...40)).map { _ in idAlphabet.randomElement(using: &random)! })
        }

        mutating func topic() -> String {
            var levels = (0..<int(1...4)).map { _ in
                bool()
                    ? "+"
                    : text().replacingOccurrences(of: "+", with: "p")
                        .replacingOccurrences(of: "#", with: "h").replacingOccurrences(of: "/", with: "s")
            }
            if levels.allSatisfy(\.isEmpty) { levels = ["dtp"] }
            if bool() { levels.append("#") }
            return levels.joined(separator: "/")
        }

        mutating func json(depth: Int) -> JSONValue {
            switch int(0...(depth > 3 ? 4 : 6)) {
            case 0: return .null
            case 1: return .bool(bool())
            case 2: return .int(bool() ? int(-1_000...1_000) : Int.random(in: Int.min...Int.max, using: &random))
            case 3:
                let double = bool() ? Double(int(-50...50)) : Double.random(in: -1e12...1e12, using: &random)
                return .double(double)
            case 4: return .string(text())
            case 5: return .array((0..<int(0...4)).map { _ in json(depth: depth + 1) })
            default: return .object(object(depth: depth + 1))
            }
        }

        mutating func object(depth: Int) -> [String: JSONValue] {
            var object: [String: JSONValue] = [:]
            for _ in 0..<int(0...4) { object[text()] = json(depth: depth) }
            return object
        }

        mutating func stream() -> DataStream {
            if bool() { return .short(topic()) }
            var extra = object(depth: 2)
            for key in ["protocol", "topic", "kind", "qos"] { extra[key] = nil }
            return DataStream(
                topic: topic(), kind: bool() ? DataStream.Kind(rawValue: text() + "k") : nil,
                qos: bool() ? int(0...2) : nil, extra: extra)
        }

        mutating func spec() -> TwinSpec {
            var metadata = object(depth: 1)
            metadata["status"] =
                bool() ? .string(LifecycleStatus.allCases.randomElement(using: &random)!.rawValue) : nil
            metadata["domain"] = bool() ? .array((0..<int(0...3)).map { _ in .string(text()) }) : nil
            metadata["name"] = bool() ? .string(text()) : nil
            var interfacesExtra = object(depth: 2)
            interfacesExtra["api"] = nil
            interfacesExtra["data_streams"] = nil
            var extra = object(depth: 2)
            for key in ["@id", "twin_id", "name", "tenant", "metadata", "interfaces", "dependencies"] {
                extra[key] = nil
            }
            return TwinSpec(
                id: id(), topLevelName: bool() ? text() : nil, tenant: bool() ? id() : nil, metadata: metadata,
                interfaces: TwinInterfaces(
                    api: bool() ? "http://localhost:\(int(1...65_535))/\(id())" : nil,
                    dataStreams: (0..<int(0...4)).map { _ in stream() }, extra: interfacesExtra),
                dependencies: TwinDependencies(
                    static: (0..<int(0...3)).map { _ in id() }, dynamic: (0..<int(0...3)).map { _ in id() }),
                extra: extra)
        }
    }

    @Test func randomSpecsRoundTripThroughYAMLAndJSON() throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        var generator = Generator(random: SplitMix64(seed: seed))
        let codec = TwinSpecCodec(normalization: nil)
        for iteration in 0..<300 {
            let spec = generator.spec()
            try #require(
                spec.validationProblems().isEmpty, "seed \(seed) iteration \(iteration): generated invalid spec")
            let yaml = try codec.encodeYAML(spec)
            let fromYAML = try codec.decode(yaml, path: "random/twin.yaml")
            try #require(fromYAML == spec, "seed \(seed) iteration \(iteration): YAML round trip differs\n\(yaml)")
            let json = try codec.encodeJSON(spec)
            let fromJSON = try codec.decode(json, path: "random/twin.json")
            try #require(fromJSON == spec, "seed \(seed) iteration \(iteration): JSON round trip differs\n\(json)")
        }
    }
}
