import Foundation
import Synchronization

/// A portal card: the earlier system's `Twin` row, one per registry twin (`dtr_id`) or made by hand.
struct Card: Sendable, Hashable, Codable {
    /// The card's own id (a UUID, lower case): what grants refer to, `twin_id` in the earlier API.
    var id: String
    var name: String
    var uiURL: String
    /// The registry twin the card shows, if any.
    var dtrID: String?
    var tenant: String

    enum CodingKeys: String, CodingKey {
        case id = "twin_id"
        case name
        case uiURL = "ui_url"
        case dtrID = "dtr_id"
        case tenant
    }
}

/// A user as the gateway's RBAC sees it.
struct User: Sendable, Hashable {
    var id: Int64
    var username: String
    var email: String
    var isStaff: Bool
    var isSuperuser: Bool
}

/// What the gateway knows of a registry service, to decide who may see it.
struct ServiceInfo: Sendable, Hashable {
    var id: String
    var name: String
    var tenant: String
    var isPublic: Bool
    var twinRef: String?
}

/// Who may see what: users, cards, grants and service visibility, held in memory.
///
/// The database is the record; this index mirrors it so that every request and every event fanned out to
/// thousands of portal streams decides visibility without a query. The store changes the index right
/// after each committed write, so a revoked grant takes effect for the very next event. One gateway process
/// owns the index: replicas would each need to follow grant changes (not done: one gateway per suite).
final class AccessIndex: Sendable {
    /// One consistent view; cheap to copy (copy-on-write collections).
    struct Snapshot: Sendable {
        var users: [Int64: User] = [:]
        var cards: [String: Card] = [:]
        var cardByTwin: [String: String] = [:]
        var grants: [Int64: Set<String>] = [:]
        var serviceGrants: [Int64: Set<String>] = [:]
        var services: [String: ServiceInfo] = [:]

        /// Whether `user` may see the registry twin `twinID`.
        func canSeeTwin(_ twinID: String, user: User) -> Bool {
            if user.isStaff { return true }
            guard let card = cardByTwin[twinID] else { return false }
            return grants[user.id]?.contains(card) ?? false
        }

        /// Whether `user` may see the card `cardID`.
        func canSeeCard(_ cardID: String, user: User) -> Bool {
            user.isStaff || (grants[user.id]?.contains(cardID) ?? false)
        }

        /// Whether `user` may see the service `serviceID`: staff, public services, services granted to the
        /// user, and services of a twin the user is granted.
        func canSeeService(_ serviceID: String, user: User) -> Bool {
            if user.isStaff { return true }
            if serviceGrants[user.id]?.contains(serviceID) ?? false { return true }
            guard let service = services[serviceID] else { return false }
            if service.isPublic { return true }
            if let twin = service.twinRef { return canSeeTwin(twin, user: user) }
            return false
        }

        /// The registry twin ids `user` is granted.
        func grantedTwins(of user: User) -> Set<String> {
            var result: Set<String> = []
            for cardID in grants[user.id] ?? [] {
                if let twin = cards[cardID]?.dtrID { result.insert(twin) }
            }
            return result
        }

        /// The cards `user` sees, by name.
        func cards(of user: User) -> [Card] {
            let visible = user.isStaff ? Array(cards.values) : (grants[user.id] ?? []).compactMap { cards[$0] }
            return visible.sorted { ($0.name, $0.id) < ($1.name, $1.id) }
        }
    }

    private let state = Mutex(Snapshot())

    /// The current view.
    var snapshot: Snapshot { state.withLock { $0 } }

    /// Changes the view.
    func update<T>(_ body: (inout Snapshot) throws -> T) rethrows -> T {
        try state.withLock { try body(&$0) }
    }

    /// The user `id`, if it exists.
    func user(_ id: Int64) -> User? { state.withLock { $0.users[id] } }
}
