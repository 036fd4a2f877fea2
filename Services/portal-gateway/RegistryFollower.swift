import DTPHTTP
import DTPModel
import Foundation
import Logging
import ServiceLifecycle

/// Follows the registry's change stream (`GET /api/registry/events`, SSE) for the whole process: keeps the
/// portal cards in step with the twins, learns the services' visibility, and hands every event to the
/// ``PortalHub`` for the portal streams. One upstream stream per gateway, however many portals are open.
///
/// The last applied event id is stored in `gateway.stream_cursor`; a restarted gateway resumes after it
/// with `Last-Event-ID`, and a first start replays the registry's outbox from the beginning, which builds
/// every card. No table is polled.
struct RegistryFollower: ServiceLifecycle.Service {
    let registry: Upstream
    let store: GatewayStore
    let hub: PortalHub
    let defaultGrant: GatewayConfig.DefaultGrant
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await follow()
                } catch is CancellationError {
                    return
                } catch {
                    logger.warning("registry stream failed; retrying", metadata: ["error": "\(error)"])
                }
                try await Task.sleep(for: .seconds(2))
            }
        }
    }

    private func follow() async throws {
        let cursor = try await store.cursor() ?? 0
        let events = SSEClient(
            client: registry.client,
            request: DTPHTTP.HTTPRequest(url: registry.baseURL + "/api/registry/events", headers: registry.headers()),
            retry: .seconds(1), lastEventID: String(cursor))
        for try await event in events {
            guard let id = Int64(event.id), let data = try? JSONValue(jsonText: event.data) else { continue }
            try await apply(type: event.event, data: data, text: event.data)
            try await store.saveCursor(id)
        }
    }

    /// Applies one registry event and publishes it, then any card change it caused.
    func apply(type: String, data: JSONValue, text: String) async throws {
        let tenant = data["tenant"]?.stringValue
        let payload = data["payload"] ?? .null
        // The registry's actor (`service:…`/`user:…`) is internal; the portal gets the earlier shape.
        var portalData = data
        if case .object(var object) = data {
            object["actor"] = nil
            portalData = .object(object)
        }
        let portalText = (try? portalData.jsonText()) ?? text
        switch type {
        case "twin.update":
            guard let twinID = payload["twin_id"]?.stringValue ?? payload["@id"]?.stringValue else { return }
            let name = payload["metadata"]?["name"]?.stringValue ?? twinID
            let uiURL = payload["interfaces"]?["api"]?.stringValue ?? ""
            let snapshot = store.index.snapshot
            let before = snapshot.cardByTwin[twinID].flatMap { snapshot.cards[$0] }
            // A known twin's change goes out before the card is written, so the portal hears of it without
            // waiting for the database; a new twin's card (and grants) must exist first, to say who sees it.
            if before != nil {
                hub.publish(name: "update", data: portalText, tenant: tenant, audience: .twin(twinID))
            }
            let wanted = Card(id: before?.id ?? "", name: name, uiURL: uiURL, dtrID: twinID, tenant: tenant ?? "demo")
            guard before != wanted else { return }
            let result = try await store.upsertCard(
                twinID: twinID, name: name, uiURL: uiURL, tenant: tenant ?? "demo", defaultGrant: defaultGrant)
            if before == nil {
                hub.publish(name: "update", data: portalText, tenant: tenant, audience: .twin(twinID))
            }
            publishCard(result.card, type: "card.update")
        case "twin.delete":
            guard let twinID = payload["twin_id"]?.stringValue else { return }
            // Published before the card goes, while the twin's grants still say who saw it.
            hub.publish(name: "update", data: portalText, tenant: tenant, audience: .twin(twinID))
            let snapshot = store.index.snapshot
            if let cardID = snapshot.cardByTwin[twinID], let card = snapshot.cards[cardID] {
                publishCard(card, type: "card.delete")
            }
            _ = try await store.deleteCard(twinID: twinID)
        case "service.update":
            guard let id = payload["id"]?.stringValue else { return }
            let info = ServiceInfo(
                id: id, name: payload["name"]?.stringValue ?? "", tenant: tenant ?? "demo",
                isPublic: payload["interfaces"]?["public"]?.boolValue ?? false,
                twinRef: payload["twin_ref"]?.stringValue)
            store.index.update { $0.services[id] = info }
            hub.publish(name: "update", data: portalText, tenant: tenant, audience: .service(id))
        case "service.delete":
            guard let id = payload["id"]?.stringValue else { return }
            hub.publish(name: "update", data: portalText, tenant: tenant, audience: .service(id))
            store.index.update { $0.services[id] = nil }
        case "relationship.update", "artifact.update":
            let twinID = payload["from"]?.stringValue ?? payload["twin_id"]?.stringValue ?? ""
            hub.publish(name: "update", data: portalText, tenant: tenant, audience: .twin(twinID))
        default:
            // An event type the gateway does not know is for staff eyes only.
            hub.publish(name: "update", data: portalText, tenant: tenant, audience: .staff)
        }
    }

    /// Publishes a card change to those who may see the card.
    func publishCard(_ card: Card, type: String) {
        let data: JSONValue = ["type": .string(type), "tenant": .string(card.tenant), "card": card.json]
        hub.publish(
            name: "card", data: (try? data.jsonText()) ?? "{}", tenant: card.tenant, audience: .card(card.id))
    }
}
