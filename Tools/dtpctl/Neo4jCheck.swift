import DTPNeo4j
import Foundation

/// Neo4j: `MERGE (:Twin)-[:MIRRORS]->(:Asset)`, count it, and remove it again.
enum Neo4jCheck {
    static func probe(_ environment: [String: String]) throws -> WiringCheck.Probe {
        guard let configuration = try Neo4jConfiguration(environment: environment) else {
            throw WiringCheck.NotConfigured(reason: "NEO4J_URL is not set")
        }
        return { http in
            let client = Neo4jClient(configuration: configuration, httpClient: http)
            let info = try await client.serverInfo()
            let id: Neo4jValue = .string("dtp-wiring-check-\(UUID().uuidString)")
            _ = try await client.run(
                "MERGE (t:Twin {twin_id: $id})-[:MIRRORS]->(:Asset {asset_id: $id})", parameters: ["id": id])
            let counted = try await client.run(
                "MATCH (:Twin {twin_id: $id})-[r:MIRRORS]->(:Asset {asset_id: $id}) RETURN count(r) AS n",
                parameters: ["id": id])
            _ = try await client.run(
                "MATCH (t:Twin {twin_id: $id})-[:MIRRORS]->(a:Asset {asset_id: $id}) DETACH DELETE t, a",
                parameters: ["id": id])
            guard case .int(1) = counted.value(row: 0, column: "n") else {
                throw Mismatch(description: "merged one MIRRORS edge, counted \(String(describing: counted.rows))")
            }
            return (info.version.map { "Neo4j \($0)" }, "Twin-MIRRORS-Asset merged, counted and removed")
        }
    }
}
