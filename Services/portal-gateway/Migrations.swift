import DTPPostgres
import Foundation
import Logging

/// The gateway's schema `gateway`, as numbered migrations applied at start-up.
///
/// As in the registry, the whole run holds a transaction-scoped advisory lock taken before anything else,
/// so two gateways starting together apply the migrations one after the other.
enum Migrations {
    /// The advisory lock key of the gateway's migrator ("DTPG").
    static let lockKey: Int64 = 0x4454_5047

    /// One step of the schema.
    typealias Migration = PostgresMigration

    static let all: [Migration] = [
        Migration(
            version: 1, name: "users, cards, grants, refresh tokens and the stream cursor",
            sql: """
                CREATE TABLE gateway.app_user (
                    id bigserial PRIMARY KEY,
                    username text NOT NULL UNIQUE,
                    email text NOT NULL DEFAULT '',
                    password_hash text NOT NULL,
                    is_staff boolean NOT NULL DEFAULT false,
                    is_superuser boolean NOT NULL DEFAULT false,
                    created_at timestamptz NOT NULL DEFAULT now()
                );
                CREATE TABLE gateway.card (
                    id uuid PRIMARY KEY,
                    name text NOT NULL,
                    ui_url text NOT NULL DEFAULT '',
                    dtr_id text UNIQUE,
                    tenant text NOT NULL DEFAULT 'demo',
                    created_at timestamptz NOT NULL DEFAULT now(),
                    updated_at timestamptz NOT NULL DEFAULT now()
                );
                CREATE TABLE gateway.twin_grant (
                    user_id bigint NOT NULL REFERENCES gateway.app_user (id) ON DELETE CASCADE,
                    card_id uuid NOT NULL REFERENCES gateway.card (id) ON DELETE CASCADE,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (user_id, card_id)
                );
                CREATE INDEX twin_grant_card ON gateway.twin_grant (card_id);
                CREATE TABLE gateway.service_grant (
                    user_id bigint NOT NULL REFERENCES gateway.app_user (id) ON DELETE CASCADE,
                    service_id text NOT NULL,
                    service_name text NOT NULL DEFAULT '',
                    created_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (user_id, service_id)
                );
                CREATE TABLE gateway.refresh_token (
                    jti uuid PRIMARY KEY,
                    family uuid NOT NULL,
                    user_id bigint NOT NULL REFERENCES gateway.app_user (id) ON DELETE CASCADE,
                    expires_at timestamptz NOT NULL,
                    used_at timestamptz,
                    created_at timestamptz NOT NULL DEFAULT now()
                );
                CREATE INDEX refresh_token_family ON gateway.refresh_token (family);
                CREATE TABLE gateway.session_revocation (
                    family uuid PRIMARY KEY,
                    reason text NOT NULL,
                    revoked_at timestamptz NOT NULL DEFAULT now(),
                    expires_at timestamptz NOT NULL
                );
                CREATE TABLE gateway.stream_cursor (
                    name text PRIMARY KEY,
                    last_event_id bigint NOT NULL
                );
                """)
    ]

    /// Applies the migrations that `pool`'s database lacks; returns the versions it applied.
    @discardableResult
    static func migrate(_ pool: PostgresPool, logger: Logger) async throws -> [Int] {
        try await PostgresMigrator.migrate(pool, schema: "gateway", lockKey: lockKey, migrations: all, logger: logger)
    }
}
