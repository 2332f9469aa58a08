//! Versioned, idempotent schema migrations, safe when several nodes start at once.
//!
//! A small runner rather than a migration crate: it must hold a session-level advisory lock for
//! the whole run (refinery and friends take none), it grants the runtime role its privileges
//! after every run, and the migrations are a handful of SQL files compiled into the binary. Each
//! migration runs in its own transaction and is recorded in `schema_migrations` with the SHA-256
//! of its text; a recorded migration whose text changed, or a database migrated by a newer tally
//! than this one, stops the start-up with an error instead of guessing.

use sha2::{Digest, Sha256};
use tokio_postgres::Client;

use super::errors::{backend, pg};
use crate::StoreError;

/// One migration: its version (1, 2, …), a name and its SQL with `{schema}` placeholders.
struct Migration {
    version: i32,
    name: &'static str,
    sql: &'static str,
}

/// Every migration, in version order. Append only: never edit a released one.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("migrations/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "fencing_retention_erasure",
        sql: include_str!("migrations/0002_fencing_retention_erasure.sql"),
    },
    Migration {
        version: 3,
        name: "office_calendars",
        sql: include_str!("migrations/0003_office_calendars.sql"),
    },
    Migration {
        version: 4,
        name: "token_revocations",
        sql: include_str!("migrations/0004_token_revocations.sql"),
    },
    Migration {
        version: 5,
        name: "rollup_stats",
        sql: include_str!("migrations/0005_rollup_stats.sql"),
    },
    Migration {
        version: 6,
        name: "sensor_keys",
        sql: include_str!("migrations/0006_sensor_keys.sql"),
    },
    Migration {
        version: 7,
        name: "audit_log",
        sql: include_str!("migrations/0007_audit_log.sql"),
    },
    Migration {
        version: 8,
        name: "office_rollups",
        sql: include_str!("migrations/0008_office_rollups.sql"),
    },
];

/// First key of the advisory lock every migrating node takes (the ASCII of `tall`); the second
/// is a hash of the schema name, so stores in different schemas do not wait for each other.
const LOCK_CLASS: i32 = 0x7461_6c6c;

/// The schema version this build of tally migrates to.
pub(super) fn latest_version() -> i32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Quotes an SQL identifier (`"` doubled).
pub(super) fn quote_ident(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// Brings `schema` up to [`latest_version`] on `client` (connected as the owner role) and grants
/// `runtime_role` what it needs (unless it is the owner itself).
///
/// Holds `pg_advisory_lock` from the first statement to the last, so concurrent starts apply
/// each migration exactly once; the lock is released on return and, if the process dies
/// halfway, when its connection closes.
pub(super) async fn migrate(
    client: &mut Client,
    schema: &str,
    runtime_role: &str,
) -> Result<(), StoreError> {
    client
        .execute(
            "SELECT pg_advisory_lock($1, hashtext($2))",
            &[&LOCK_CLASS, &schema],
        )
        .await
        .map_err(pg)?;
    let result = migrate_locked(client, schema, runtime_role).await;
    let unlocked = client
        .execute(
            "SELECT pg_advisory_unlock($1, hashtext($2))",
            &[&LOCK_CLASS, &schema],
        )
        .await
        .map_err(pg);
    result.and(unlocked.map(drop))
}

/// The migration itself, under the advisory lock.
async fn migrate_locked(
    client: &mut Client,
    schema: &str,
    runtime_role: &str,
) -> Result<(), StoreError> {
    let quoted = quote_ident(schema);
    client
        .batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {quoted};
             CREATE TABLE IF NOT EXISTS {quoted}.schema_migrations (
                 version integer PRIMARY KEY,
                 name text NOT NULL,
                 checksum bytea NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now()
             );"
        ))
        .await
        .map_err(pg)?;
    let applied = client
        .query(
            &format!(
                "SELECT version, name, checksum FROM {quoted}.schema_migrations ORDER BY version"
            ),
            &[],
        )
        .await
        .map_err(pg)?;
    for row in &applied {
        let (version, name, checksum): (i32, String, Vec<u8>) =
            (row.get(0), row.get(1), row.get(2));
        let Some(known) = MIGRATIONS.iter().find(|m| m.version == version) else {
            return Err(backend(format!(
                "schema {schema} has migration {version} ({name}), newer than this tally knows \
                 (up to {}); upgrade tally",
                latest_version()
            )));
        };
        if checksum != checksum_of(known) {
            return Err(backend(format!(
                "migration {version} ({name}) of schema {schema} differs from the one this tally \
                 would apply; the database was migrated by another build"
            )));
        }
    }
    for migration in MIGRATIONS
        .iter()
        .filter(|m| !applied.iter().any(|row| row.get::<_, i32>(0) == m.version))
    {
        let tx = client.transaction().await.map_err(pg)?;
        tx.batch_execute(&migration.sql.replace("{schema}", &quoted))
            .await
            .map_err(|e| {
                backend(format!(
                    "migration {} ({}) failed: {}",
                    migration.version,
                    migration.name,
                    describe(&e)
                ))
            })?;
        tx.execute(
            &format!(
                "INSERT INTO {quoted}.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)"
            ),
            &[&migration.version, &migration.name, &checksum_of(migration)],
        )
        .await
        .map_err(pg)?;
        tx.commit().await.map_err(pg)?;
        tracing::info!(
            schema,
            version = migration.version,
            name = migration.name,
            "applied migration"
        );
    }
    grant(client, &quoted, runtime_role).await
}

/// Grants the runtime role what it needs: the parent tables (never the readings partitions) and
/// the platform functions. Idempotent; a no-op when the runtime role is the owner.
async fn grant(client: &Client, quoted: &str, runtime_role: &str) -> Result<(), StoreError> {
    let owner: String = client
        .query_one("SELECT current_user::text", &[])
        .await
        .map_err(pg)?
        .get(0);
    if owner == runtime_role {
        return Ok(());
    }
    let role = quote_ident(runtime_role);
    client
        .batch_execute(&format!(
            "GRANT USAGE ON SCHEMA {quoted} TO {role};
             GRANT SELECT, INSERT, UPDATE, DELETE ON
                 {quoted}.tenants, {quoted}.offices, {quoted}.rooms, {quoted}.sensors,
                 {quoted}.sensor_keys, {quoted}.room_state, {quoted}.readings, {quoted}.rollups,
                 {quoted}.office_owners, {quoted}.retention_overrides,
                 {quoted}.office_calendars, {quoted}.token_revocations,
                 {quoted}.revoked_tokens
                 TO {role};
             GRANT EXECUTE ON FUNCTION
                 {quoted}.list_tenants(), {quoted}.sensor_by_key_hash(bytea),
                 {quoted}.create_readings_partition(bigint),
                 {quoted}.tenant_erased(text), {quoted}.enter_tenant(text, boolean),
                 {quoted}.begin_erasure(text, text, bigint),
                 {quoted}.record_erasure(text, bigint, bigint, bigint, bigint, bigint),
                 {quoted}.erasure(text), {quoted}.readings_partition_days(),
                 {quoted}.drop_readings_partition(bigint)
                 TO {role};"
        ))
        .await
        .map_err(pg)?;
    // The audit log is append-only for the runtime role: no UPDATE, no DELETE.
    client
        .batch_execute(&format!(
            "GRANT SELECT, INSERT ON {quoted}.audit_log TO {role};
             GRANT EXECUTE ON FUNCTION {quoted}.expire_audit(bigint) TO {role};"
        ))
        .await
        .map_err(pg)?;
    // Office rollups and their frontiers, as room rollups.
    client
        .batch_execute(&format!(
            "GRANT SELECT, INSERT, UPDATE, DELETE ON
                 {quoted}.office_rollups, {quoted}.office_rollup_frontiers TO {role};"
        ))
        .await
        .map_err(pg)
}

/// SHA-256 of a migration's template text.
fn checksum_of(migration: &Migration) -> Vec<u8> {
    Sha256::digest(migration.sql.as_bytes()).to_vec()
}

/// A driver error with the server's message, detail and position when there are any.
fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!(
            "{} ({}){}",
            db.message(),
            db.code().code(),
            db.detail().map(|d| format!(": {d}")).unwrap_or_default()
        ),
        None => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_rise_from_one() {
        // Versions are reserved per change while several are under way (4 is another change's),
        // so they rise without having to be consecutive.
        assert_eq!(MIGRATIONS[0].version, 1);
        for pair in MIGRATIONS.windows(2) {
            assert!(pair[0].version < pair[1].version, "{}", pair[1].name);
        }
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("tally"), "\"tally\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
