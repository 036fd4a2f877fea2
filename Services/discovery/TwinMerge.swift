import DTPModel
import Foundation

/// What discovery writes for a file-defined twin: the file's fields over the registry's current twin.
///
/// The registry's upsert replaces a twin whole, so the registry's metadata is the base: keys that API
/// users added survive, keys the file defines win, and keys the file defined at its last registration
/// but no longer does are dropped. Tenant, interfaces and dependencies belong to the file entirely.
struct MergedTwin: Sendable, Hashable {
    var id: String
    var tenant: String
    var metadata: [String: JSONValue]
    var interfaces: TwinInterfaces
    var dependencies: TwinDependencies

    /// `twin` from its file written over `existing` (nil when the registry has none); `previousKeys` are
    /// the metadata keys the file defined when discovery last wrote the twin, if it did in this process.
    init(_ twin: DiscoveredTwin, over existing: Twin?, previousKeys: Set<String>?) {
        var metadata = existing?.metadata ?? [:]
        for key in previousKeys ?? [] where twin.metadata[key] == nil && key != "status" { metadata[key] = nil }
        for (key, value) in twin.metadata { metadata[key] = value }
        metadata["source"] = .string(twin.source)
        // A twin that discovery soft-deleted comes back when its file does (a folder renamed or restored),
        // unless the file says what its status is.
        if twin.metadata["status"] == nil, existing?.status == .deprecated {
            metadata["status"] = .string(LifecycleStatus.instantiated.rawValue)
        }
        id = twin.id
        tenant = twin.tenant
        self.metadata = metadata
        interfaces = twin.interfaces
        dependencies = twin.dependencies
    }

    /// The request body of an upsert.
    var jsonValue: JSONValue {
        .object([
            "@id": .string(id), "tenant": .string(tenant), "metadata": .object(metadata),
            "interfaces": interfaces.jsonValue, "dependencies": dependencies.jsonValue,
        ])
    }

    /// Whether the registry already holds exactly this.
    func isUnchanged(from twin: Twin) -> Bool {
        var metadata = self.metadata
        if metadata["status"] == nil { metadata["status"] = twin.metadata["status"] }
        return tenant == twin.tenant && metadata == twin.metadata && interfaces == twin.interfaces
            && dependencies == twin.dependencies
    }
}

extension Twin {
    /// Whether discovery registered this twin (its `metadata.source` names a file).
    var isFileDefined: Bool { metadata["source"]?.stringValue?.hasPrefix("file:") == true }

    /// The relative path in `metadata.source`, for a file-defined twin.
    var sourceFile: String? {
        guard let source = metadata["source"]?.stringValue, source.hasPrefix("file:") else { return nil }
        return String(source.dropFirst(5))
    }
}
