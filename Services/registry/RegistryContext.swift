import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The request context of the registry: Hummingbird's core context plus who is calling.
struct RegistryContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// `service:<name>` for a service token, `user:<id>` for a gateway access token; nil before auth.
    var actor: String?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        actor = nil
    }

    /// The caller, for history and events.
    var caller: String { actor ?? "anonymous" }
}
