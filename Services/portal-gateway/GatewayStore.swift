import DTPAuth
import DTPPostgres
import DTPServiceKit
import Foundation
import HTTPTypes
import Logging

/// The gateway's tables in schema `gateway`, and the in-memory ``AccessIndex`` kept in step with them.
///
/// Every write commits first and then updates the index, so the index never shows something the database
/// does not hold.
struct GatewayStore: Sendable {
    let pool: PostgresPool
    let index: AccessIndex

    // MARK: Loading and bootstrap

    /// Fills the index from the database.
    func load() async throws {
        var snapshot = AccessIndex.Snapshot()
        for row in try await pool.query(
            "SELECT id, username, email, is_staff, is_superuser FROM gateway.app_user")
        {
            let user = try Self.user(row)
            snapshot.users[user.id] = user
        }
        for row in try await pool.query("SELECT id::text, name, ui_url, dtr_id, tenant FROM gateway.card") {
            let card = try Self.card(row)
            snapshot.cards[card.id] = card
            if let twin = card.dtrID { snapshot.cardByTwin[twin] = card.id }
        }
        for row in try await pool.query("SELECT user_id, card_id::text FROM gateway.twin_grant") {
            snapshot.grants[try row.decode(Int64.self, at: 0), default: []].insert(try row.decode(String.self, at: 1))
        }
        for row in try await pool.query("SELECT user_id, service_id FROM gateway.service_grant") {
            snapshot.serviceGrants[try row.decode(Int64.self, at: 0), default: []].insert(
                try row.decode(String.self, at: 1))
        }
        let loaded = snapshot
        index.update { current in
            // Services come from the registry stream, not the database.
            let services = current.services
            current = loaded
            current.services = services
        }
    }

    /// Creates each user that does not exist yet; existing users keep their passwords.
    func bootstrap(_ users: [GatewayConfig.BootstrapUser], hasher: PasswordHasher, logger: Logger) async throws {
        for user in users {
            let exists = try await pool.query(
                "SELECT 1 FROM gateway.app_user WHERE username = $1", [user.username]
            ).isEmpty == false
            if exists { continue }
            let hash = try await hasher.hash(user.password.value)
            let inserted = try await pool.execute(
                """
                INSERT INTO gateway.app_user (username, email, password_hash, is_staff, is_superuser)
                VALUES ($1, $1, $2, $3, $3) ON CONFLICT (username) DO NOTHING
                """, [user.username, hash, user.isStaff])
            if inserted > 0 {
                logger.notice("created bootstrap user", metadata: ["username": "\(user.username)"])
            }
        }
    }

    // MARK: Users

    /// The user named `username` and their password hash.
    func credentials(username: String) async throws -> (User, String)? {
        guard
            let row = try await pool.query(
                """
                SELECT id, username, email, is_staff, is_superuser, password_hash
                FROM gateway.app_user WHERE username = $1
                """, [username]
            ).first
        else { return nil }
        return (try Self.user(row), try row.decode(String.self, at: 5))
    }

    /// Creates a user; 409 when the username is taken.
    func createUser(username: String, email: String, passwordHash: String, isStaff: Bool) async throws -> User {
        let rows = try await pool.query(
            """
            INSERT INTO gateway.app_user (username, email, password_hash, is_staff)
            VALUES ($1, $2, $3, $4) ON CONFLICT (username) DO NOTHING
            RETURNING id, username, email, is_staff, is_superuser
            """, [username, email, passwordHash, isStaff])
        guard let row = rows.first else { throw APIError.conflict("user exists") }
        let user = try Self.user(row)
        index.update { $0.users[user.id] = user }
        return user
    }

    /// Deletes a user with their grants and tokens; nil when there is none.
    func deleteUser(username: String) async throws -> User? {
        guard
            let row = try await pool.query(
                "DELETE FROM gateway.app_user WHERE username = $1 RETURNING id, username, email, is_staff, is_superuser",
                [username]
            ).first
        else { return nil }
        let user = try Self.user(row)
        index.update {
            $0.users[user.id] = nil
            $0.grants[user.id] = nil
            $0.serviceGrants[user.id] = nil
        }
        return user
    }

    /// The user named `username` from the index.
    func user(named username: String) -> User? {
        index.snapshot.users.values.first { $0.username == username }
    }

    // MARK: Cards

    /// Creates or updates the card of registry twin `twinID`; a new card gets the default grants.
    /// Returns the card, whether it is new, and the users granted it by default.
    func upsertCard(
        twinID: String, name: String, uiURL: String, tenant: String, defaultGrant: GatewayConfig.DefaultGrant
    ) async throws -> (card: Card, created: Bool, granted: [Int64]) {
        let result = try await pool.transaction { connection -> (card: Card, created: Bool, granted: [Int64]) in
            let rows = try await connection.query(
                """
                INSERT INTO gateway.card (id, name, ui_url, dtr_id, tenant) VALUES ($1::uuid, $2, $3, $4, $5)
                ON CONFLICT (dtr_id) DO UPDATE SET name = EXCLUDED.name, ui_url = EXCLUDED.ui_url,
                    tenant = EXCLUDED.tenant, updated_at = now()
                RETURNING id::text, name, ui_url, dtr_id, tenant, (xmax = 0) AS created
                """, [UUID().uuidString.lowercased(), name, uiURL, twinID, tenant])
            guard let row = rows.first else { throw APIError(.internalServerError, "card upsert returned nothing") }
            let card = try Self.card(row)
            let created = try row.decode(Bool.self, at: 5)
            var granted: [Int64] = []
            if created && defaultGrant != .none {
                let staffOnly = defaultGrant == .staff
                granted = try await connection.query(
                    """
                    INSERT INTO gateway.twin_grant (user_id, card_id)
                    SELECT id, $1::uuid FROM gateway.app_user WHERE is_staff OR NOT $2
                    ON CONFLICT DO NOTHING RETURNING user_id
                    """, [card.id, staffOnly]
                ).map { try $0.decode(Int64.self, at: 0) }
            }
            return (card, created, granted)
        }
        let card = result.card
        index.update { snapshot in
            snapshot.cards[card.id] = card
            snapshot.cardByTwin[twinID] = card.id
            for user in result.granted { snapshot.grants[user, default: []].insert(card.id) }
        }
        return result
    }

    /// Creates a card by hand (admin API); a card for an existing `dtr_id` is updated instead (merged).
    func createCard(name: String, uiURL: String, twinID: String?, tenant: String) async throws -> Card {
        if let twinID {
            return try await upsertCard(twinID: twinID, name: name, uiURL: uiURL, tenant: tenant, defaultGrant: .none)
                .card
        }
        let rows = try await pool.query(
            """
            INSERT INTO gateway.card (id, name, ui_url, tenant) VALUES ($1::uuid, $2, $3, $4)
            RETURNING id::text, name, ui_url, dtr_id, tenant
            """, [UUID().uuidString.lowercased(), name, uiURL, tenant])
        let card = try Self.card(rows[0])
        index.update { $0.cards[card.id] = card }
        return card
    }

    /// Deletes the card `id` (or of twin `twinID`) with its grants; nil when there is none.
    func deleteCard(id: String? = nil, twinID: String? = nil) async throws -> Card? {
        let rows: [PostgresRow]
        if let id {
            guard UUID(uuidString: id) != nil else { return nil }
            rows = try await pool.query(
                "DELETE FROM gateway.card WHERE id = $1::uuid RETURNING id::text, name, ui_url, dtr_id, tenant", [id])
        } else if let twinID {
            rows = try await pool.query(
                "DELETE FROM gateway.card WHERE dtr_id = $1 RETURNING id::text, name, ui_url, dtr_id, tenant",
                [twinID])
        } else {
            return nil
        }
        guard let row = rows.first else { return nil }
        let card = try Self.card(row)
        index.update { snapshot in
            snapshot.cards[card.id] = nil
            if let twin = card.dtrID { snapshot.cardByTwin[twin] = nil }
            for user in snapshot.grants.keys { snapshot.grants[user]?.remove(card.id) }
        }
        return card
    }

    // MARK: Grants

    /// Grants `user` the card `cardID`; false when it already was.
    func grant(_ user: User, card cardID: String) async throws -> Bool {
        let added = try await pool.execute(
            "INSERT INTO gateway.twin_grant (user_id, card_id) VALUES ($1, $2::uuid) ON CONFLICT DO NOTHING",
            [user.id, cardID])
        index.update { _ = $0.grants[user.id, default: []].insert(cardID) }
        return added > 0
    }

    /// Revokes `user`'s grant of `cardID`; false when there was none.
    func revoke(_ user: User, card cardID: String) async throws -> Bool {
        let removed = try await pool.execute(
            "DELETE FROM gateway.twin_grant WHERE user_id = $1 AND card_id = $2::uuid", [user.id, cardID])
        index.update { _ = $0.grants[user.id]?.remove(cardID) }
        return removed > 0
    }

    /// Grants `user` the service `serviceID`.
    func grantService(_ user: User, service serviceID: String, name: String) async throws -> Bool {
        let added = try await pool.execute(
            """
            INSERT INTO gateway.service_grant (user_id, service_id, service_name) VALUES ($1, $2, $3)
            ON CONFLICT DO NOTHING
            """, [user.id, serviceID, name])
        index.update { _ = $0.serviceGrants[user.id, default: []].insert(serviceID) }
        return added > 0
    }

    /// Revokes `user`'s grant of service `serviceID`.
    func revokeService(_ user: User, service serviceID: String) async throws -> Bool {
        let removed = try await pool.execute(
            "DELETE FROM gateway.service_grant WHERE user_id = $1 AND service_id = $2", [user.id, serviceID])
        index.update { _ = $0.serviceGrants[user.id]?.remove(serviceID) }
        return removed > 0
    }

    /// Every service grant with its user's name and the service's name.
    func serviceGrants() async throws -> [(user: String, serviceID: String, service: String)] {
        try await pool.query(
            """
            SELECT u.username, g.service_id, g.service_name FROM gateway.service_grant g
            JOIN gateway.app_user u ON u.id = g.user_id ORDER BY u.username, g.service_id
            """
        ).map { (try $0.decode(String.self, at: 0), try $0.decode(String.self, at: 1), try $0.decode(String.self, at: 2)) }
    }

    // MARK: Refresh tokens and sessions

    /// Records a refresh token of `family`.
    func insertRefresh(jti: String, family: String, userID: Int64, expires: Date) async throws {
        try await pool.execute(
            "INSERT INTO gateway.refresh_token (jti, family, user_id, expires_at) VALUES ($1::uuid, $2::uuid, $3, $4)",
            [jti, family, userID, expires])
    }

    /// What using a refresh token found.
    enum RefreshUse: Sendable {
        /// First use: the token is now spent.
        case fresh
        /// The token was spent before: a replay.
        case reused
        /// Unknown or expired.
        case unknown
    }

    /// Marks the refresh token `jti` spent, atomically; tells whether it was fresh.
    func useRefresh(jti: String) async throws -> RefreshUse {
        let updated = try await pool.execute(
            """
            UPDATE gateway.refresh_token SET used_at = now()
            WHERE jti = $1::uuid AND used_at IS NULL AND expires_at > now()
            """, [jti])
        if updated > 0 { return .fresh }
        let rows = try await pool.query(
            "SELECT used_at IS NOT NULL FROM gateway.refresh_token WHERE jti = $1::uuid", [jti])
        guard let row = rows.first else { return .unknown }
        return try row.decode(Bool.self, at: 0) ? .reused : .unknown
    }

    /// Records the session `family` as revoked until `expires`.
    func revokeFamily(_ family: String, reason: String, expires: Date) async throws {
        try await pool.execute(
            """
            INSERT INTO gateway.session_revocation (family, reason, expires_at) VALUES ($1::uuid, $2, $3)
            ON CONFLICT (family) DO NOTHING
            """, [family, reason, expires])
        try await pool.execute("UPDATE gateway.refresh_token SET used_at = coalesce(used_at, now()) WHERE family = $1::uuid", [family])
    }

    /// The sessions revoked and not yet expired.
    func activeRevocations() async throws -> [(String, Date)] {
        try await pool.query(
            "SELECT family::text, expires_at FROM gateway.session_revocation WHERE expires_at > now()"
        ).map { (try $0.decode(String.self, at: 0), try $0.decode(Date.self, at: 1)) }
    }

    // MARK: The registry stream cursor

    /// The last registry event id applied, or nil before the first.
    func cursor() async throws -> Int64? {
        try await pool.query("SELECT last_event_id FROM gateway.stream_cursor WHERE name = 'registry'").first?
            .decode(Int64.self, at: 0)
    }

    /// Records `id` as the last registry event applied.
    func saveCursor(_ id: Int64) async throws {
        try await pool.execute(
            """
            INSERT INTO gateway.stream_cursor (name, last_event_id) VALUES ('registry', $1)
            ON CONFLICT (name) DO UPDATE SET last_event_id = greatest(gateway.stream_cursor.last_event_id, $1)
            """, [id])
    }

    // MARK: Rows

    static func user(_ row: PostgresRow) throws -> User {
        User(
            id: try row.decode(Int64.self, at: 0), username: try row.decode(String.self, at: 1),
            email: try row.decode(String.self, at: 2), isStaff: try row.decode(Bool.self, at: 3),
            isSuperuser: try row.decode(Bool.self, at: 4))
    }

    static func card(_ row: PostgresRow) throws -> Card {
        Card(
            id: try row.decode(String.self, at: 0), name: try row.decode(String.self, at: 1),
            uiURL: try row.decode(String.self, at: 2), dtrID: try row.decode(String?.self, at: 3),
            tenant: try row.decode(String.self, at: 4))
    }
}
