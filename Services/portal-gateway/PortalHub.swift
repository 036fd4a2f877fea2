import DTPModel
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// One event of the portal stream, framed once and shared by every stream it goes to.
struct PortalEvent: Sendable {
    /// Who may receive the event.
    enum Audience: Sendable {
        /// Those who may see registry twin `twinID`.
        case twin(String)
        /// Those who may see service `serviceID`.
        case service(String)
        /// Those who may see card `cardID`.
        case card(String)
        /// One user only (their grant changes).
        case user(Int64)
        /// Every signed-in user (service health).
        case everyone
        /// Staff only.
        case staff
    }

    /// The stream id (the SSE `id:`): increasing within and across processes.
    var id: Int64
    var tenant: String?
    var audience: Audience
    /// `id:`, `event:` and `data:` lines, ready to write.
    var frame: ByteBuffer

    /// Whether `user` still may receive the event when it is written: a grant revoked since it was queued
    /// stops it, while the notice of a deleted twin or card still goes out.
    func isStillVisible(to user: User, in snapshot: AccessIndex.Snapshot) -> Bool {
        guard snapshot.users[user.id] != nil else { return false }
        switch audience {
        case .twin(let twin):
            return snapshot.cardByTwin[twin] == nil || snapshot.canSeeTwin(twin, user: user)
        case .card(let card):
            return snapshot.cards[card] == nil || snapshot.canSeeCard(card, user: user)
        case .service(let service):
            return snapshot.services[service] == nil || snapshot.canSeeService(service, user: user)
        case .user, .everyone, .staff:
            return true
        }
    }

    /// Whether `user` may receive the event given `snapshot`, and it matches the stream's `tenant` filter.
    func isVisible(to user: User, tenant filter: String?, in snapshot: AccessIndex.Snapshot) -> Bool {
        if let filter, let tenant, tenant != filter { return false }
        switch audience {
        case .twin(let twin): return snapshot.canSeeTwin(twin, user: user)
        case .service(let service): return snapshot.canSeeService(service, user: user)
        case .card(let card): return snapshot.canSeeCard(card, user: user)
        case .user(let id): return id == user.id
        case .everyone: return true
        case .staff: return user.isStaff
        }
    }
}

/// Fans events out to every open portal stream, in memory.
///
/// Each stream has a bounded buffer (``clientBuffer`` events); a stream whose client reads too slowly to
/// keep it from filling is ended rather than allowed to grow or to hold up the others, and the browser's
/// EventSource reconnects with `Last-Event-ID`. The last ``replayLimit`` events stay in a ring so that a
/// reconnecting stream gets what it missed. Heartbeats come from one timer for all streams.
final class PortalHub: ServiceLifecycle.Service, Sendable {
    /// What a stream receives.
    enum Item: Sendable {
        case event(PortalEvent)
        case heartbeat
    }

    struct Subscriber: Sendable {
        var userID: Int64
        var tenant: String?
        var continuation: AsyncStream<Item>.Continuation
    }

    struct State {
        var subscribers: [UInt64: Subscriber] = [:]
        var nextSubscriber: UInt64 = 1
        var nextEventID: Int64
        var ring: [PortalEvent] = []
        var ringStart = 0
        var dropped = 0
    }

    let index: AccessIndex
    let clientBuffer: Int
    let replayLimit: Int
    let heartbeat: Duration
    let logger: Logger
    private let state: Mutex<State>

    init(index: AccessIndex, clientBuffer: Int, replayLimit: Int, heartbeat: Duration, logger: Logger) {
        self.index = index
        self.clientBuffer = clientBuffer
        self.replayLimit = replayLimit
        self.heartbeat = heartbeat
        self.logger = logger
        // Ids start at the start time in microseconds, so a restarted gateway never reuses an id a browser
        // still holds (it then gets a `reset` event rather than events it has seen).
        state = Mutex(State(nextEventID: Int64(Date().timeIntervalSince1970 * 1_000_000)))
    }

    /// The number of open streams.
    var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    /// Streams ended because their clients fell behind.
    var droppedCount: Int { state.withLock { $0.dropped } }

    /// Publishes an event named `name` with `data` (JSON text) to those in `audience`.
    @discardableResult
    func publish(name: String, data: String, tenant: String?, audience: PortalEvent.Audience) -> Int64 {
        let snapshot = index.snapshot
        return state.withLock { state -> Int64 in
            let id = state.nextEventID
            state.nextEventID += 1
            var frame = ByteBuffer()
            frame.reserveCapacity(data.utf8.count + name.utf8.count + 32)
            frame.writeString("id: \(id)\nevent: \(name)\ndata: \(data)\n\n")
            let event = PortalEvent(id: id, tenant: tenant, audience: audience, frame: frame)
            if replayLimit > 0 {
                if state.ring.count < replayLimit {
                    state.ring.append(event)
                } else {
                    state.ring[state.ringStart] = event
                    state.ringStart = (state.ringStart + 1) % replayLimit
                }
            }
            var slow: [UInt64] = []
            for (key, subscriber) in state.subscribers {
                guard let user = snapshot.users[subscriber.userID],
                    event.isVisible(to: user, tenant: subscriber.tenant, in: snapshot)
                else { continue }
                if case .dropped = subscriber.continuation.yield(.event(event)) { slow.append(key) }
            }
            for key in slow {
                state.subscribers.removeValue(forKey: key)?.continuation.finish()
                state.dropped += 1
            }
            return id
        }
    }

    /// Opens a stream for `userID`; returns its key, the events after `lastEventID` it may see (nil when
    /// they are no longer all in the ring), and the live items.
    func subscribe(userID: Int64, tenant: String?, lastEventID: Int64?) -> (
        key: UInt64, replay: [PortalEvent]?, stream: AsyncStream<Item>
    ) {
        let (stream, continuation) = AsyncStream<Item>.makeStream(bufferingPolicy: .bufferingOldest(clientBuffer))
        let snapshot = index.snapshot
        return state.withLock { state in
            let key = state.nextSubscriber
            state.nextSubscriber += 1
            state.subscribers[key] = Subscriber(userID: userID, tenant: tenant, continuation: continuation)
            var replay: [PortalEvent]? = []
            if let lastEventID, lastEventID < state.nextEventID - 1 {
                let ordered = Array(state.ring[state.ringStart...] + state.ring[..<state.ringStart])
                if let first = ordered.first, first.id <= lastEventID + 1 {
                    if let user = snapshot.users[userID] {
                        replay = ordered.filter {
                            $0.id > lastEventID && $0.isVisible(to: user, tenant: tenant, in: snapshot)
                        }
                    }
                } else {
                    replay = nil
                }
            }
            return (key, replay, stream)
        }
    }

    /// Closes the stream `key`.
    func unsubscribe(_ key: UInt64) {
        state.withLock { $0.subscribers.removeValue(forKey: key) }?.continuation.finish()
    }

    /// Ends every stream of `userID` (the user was deleted).
    func disconnect(userID: Int64) {
        let gone = state.withLock { state -> [Subscriber] in
            let keys = state.subscribers.filter { $0.value.userID == userID }.map(\.key)
            return keys.compactMap { state.subscribers.removeValue(forKey: $0) }
        }
        for subscriber in gone { subscriber.continuation.finish() }
    }

    /// Sends heartbeats until shutdown, then ends every stream.
    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: self.heartbeat)
                self.state.withLock { state in
                    var slow: [UInt64] = []
                    for (key, subscriber) in state.subscribers {
                        if case .dropped = subscriber.continuation.yield(.heartbeat) { slow.append(key) }
                    }
                    for key in slow {
                        state.subscribers.removeValue(forKey: key)?.continuation.finish()
                        state.dropped += 1
                    }
                }
            }
        }
        let all = state.withLock { state -> [Subscriber] in
            defer { state.subscribers.removeAll() }
            return Array(state.subscribers.values)
        }
        for subscriber in all { subscriber.continuation.finish() }
    }
}
