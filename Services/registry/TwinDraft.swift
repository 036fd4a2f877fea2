import DTPModel
import DTPServiceKit
import Foundation
import Logging

/// The writable content of a twin, as a request gives it: what becomes a new version once the store
/// adds identity, timestamps and the version number.
struct TwinDraft: Sendable, Hashable {
    var id: String
    var tenant: String
    var metadata: [String: JSONValue]
    var interfaces: TwinInterfaces
    var dependencies: TwinDependencies

    init(
        id: String, tenant: String = "demo", metadata: [String: JSONValue] = [:],
        interfaces: TwinInterfaces = TwinInterfaces(), dependencies: TwinDependencies = TwinDependencies()
    ) {
        self.id = id
        self.tenant = tenant
        self.metadata = metadata
        self.interfaces = interfaces
        self.dependencies = dependencies
    }

    /// The draft of an existing twin, to be changed by a PATCH.
    init(_ twin: Twin) {
        self.init(
            id: twin.id, tenant: twin.tenant, metadata: twin.metadata, interfaces: twin.interfaces,
            dependencies: twin.dependencies)
    }

    /// The editable fields as JSON, for JSON Merge Patch.
    var jsonValue: JSONValue {
        .object([
            "@id": .string(id), "tenant": .string(tenant), "metadata": .object(metadata),
            "interfaces": interfaces.jsonValue, "dependencies": dependencies.jsonValue,
        ])
    }

    /// Reads a request body: `@id` or `twin_id` is required (400 `@id required`, as before); fields of
    /// the wrong type answer 422 naming the field.
    init(json: JSONValue) throws(APIError) {
        guard case .object(let object) = json else { throw APIError.badRequest("body must be a JSON object") }
        let idValue = object["@id"] ?? object["twin_id"]
        if idValue == nil || idValue == .null { throw APIError.badRequest("@id required") }
        let spec: TwinSpec
        do {
            spec = try TwinSpec(json: json)
        } catch {
            throw APIError.unprocessable("\(error.field): \(error.message)")
        }
        guard let id = spec.id else { throw APIError.badRequest("@id required") }
        var metadata = spec.metadata
        if metadata["name"] == nil, let name = spec.topLevelName { metadata["name"] = .string(name) }
        self.init(
            id: id, tenant: spec.tenant ?? "demo", metadata: metadata, interfaces: spec.interfaces,
            dependencies: spec.dependencies)
    }

    /// The next version of a twin: `previous` (nil when new) changed to this draft at `now`.
    ///
    /// A draft without a status keeps the previous one (`instantiated` for a new twin). Every rule of
    /// DTPModel applies (422 naming the field), and `retired` is final.
    func version(after previous: Twin?, now: Timestamp) throws(APIError) -> Twin {
        var metadata = self.metadata
        if metadata["status"] == nil || metadata["status"] == .null {
            metadata["status"] = .string(previous?.status?.rawValue ?? LifecycleStatus.instantiated.rawValue)
        }
        let twin = Twin(
            id: id, tenant: tenant, metadata: metadata, interfaces: interfaces, dependencies: dependencies,
            createdAt: previous?.createdAt ?? now, updatedAt: now, version: (previous?.version ?? 0) + 1)
        if let problem = twin.validationProblems().first {
            if problem.kind == .missing && problem.field == "@id" { throw APIError.badRequest("@id required") }
            throw APIError.unprocessable("\(problem.field): \(problem.message)")
        }
        if let from = previous?.status, let to = twin.status, !from.canTransition(to: to) {
            throw APIError.unprocessable("metadata.status: \(from.rawValue) is final; cannot change to \(to.rawValue)")
        }
        return twin
    }

    /// Whether `twin` already holds exactly this content (a re-registration that changes nothing).
    func isUnchanged(from twin: Twin) -> Bool {
        var metadata = self.metadata
        if metadata["status"] == nil { metadata["status"] = twin.metadata["status"] }
        return tenant == twin.tenant && metadata == twin.metadata && interfaces == twin.interfaces
            && dependencies == twin.dependencies
    }

    /// The top-level fields that differ between two twins, for the history.
    static func changedFields(from old: Twin?, to new: Twin) -> [String] {
        guard let old else { return ["tenant", "metadata", "interfaces", "dependencies"] }
        var fields: [String] = []
        if old.tenant != new.tenant { fields.append("tenant") }
        if old.metadata != new.metadata { fields.append("metadata") }
        if old.interfaces != new.interfaces { fields.append("interfaces") }
        if old.dependencies != new.dependencies { fields.append("dependencies") }
        return fields
    }
}

/// RFC 7396 JSON Merge Patch.
enum JSONMergePatch {
    static func apply(_ patch: JSONValue, to target: JSONValue) -> JSONValue {
        guard case .object(let members) = patch else { return patch }
        var result: [String: JSONValue]
        if case .object(let existing) = target { result = existing } else { result = [:] }
        for (key, value) in members {
            if value == .null {
                result[key] = nil
            } else {
                result[key] = apply(value, to: result[key] ?? .null)
            }
        }
        return .object(result)
    }
}
