import DTPModel
import DTPServiceKit
import Foundation

extension Twin {
    /// Reads a twin from its stored JSON (the row's `doc`, or an event's payload) the way its `Codable`
    /// decoding does, but from DTPModel's own parser instead of `JSONDecoder`, which took a tenth of an
    /// upsert's CPU time. Throws when the JSON is not a twin.
    init(storedJSON json: JSONValue) throws {
        guard case .object(let object) = json else { throw StoredTwinError(message: "a twin must be an object") }
        guard case .string(let id)? = object["@id"] ?? object["twin_id"] else {
            throw StoredTwinError(message: "@id required")
        }
        func timestamp(_ key: String) throws -> Timestamp {
            guard case .string(let text)? = object[key], let value = Timestamp(iso8601: text) else {
                throw StoredTwinError(message: "\(key) is not a timestamp")
            }
            return value
        }
        var tenant = "demo"
        if case .string(let value)? = object["tenant"] { tenant = value }
        var metadata: [String: JSONValue] = [:]
        if case .object(let value)? = object["metadata"] { metadata = value }
        var version = 1
        if case .int(let value)? = object["version"] { version = value }
        var etag: String?
        if case .string(let value)? = object["etag"] { etag = value }
        let interfaces = try object["interfaces"].flatMap { $0.isNull ? nil : try TwinInterfaces(json: $0) }
        let dependencies = try object["dependencies"].flatMap { $0.isNull ? nil : try TwinDependencies(json: $0) }
        self.init(
            id: id, tenant: tenant, metadata: metadata, interfaces: interfaces ?? TwinInterfaces(),
            dependencies: dependencies ?? TwinDependencies(), createdAt: try timestamp("created_at"),
            updatedAt: try timestamp("updated_at"), version: version, etag: etag)
    }

    /// Reads a twin from its stored JSON text.
    init(storedJSON text: String) throws {
        try self.init(storedJSON: JSONValue(jsonText: text))
    }
}

/// Stored JSON that is not a twin.
struct StoredTwinError: Error, CustomStringConvertible {
    let message: String
    var description: String { "stored twin: \(message)" }
}
