#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The JSON encoding of payloads and API answers: sorted keys, so payloads are stable byte for byte.
public enum TwinJSON {
    /// `value` as JSON bytes.
    public static func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Payload types are plain structs of strings and finite numbers: encoding them cannot fail.
        return (try? Array(encoder.encode(value))) ?? Array("{}".utf8)
    }
}
