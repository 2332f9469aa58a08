//! tally's schema in ScyllaDB: versioned migrations, applied at start-up.
//!
//! Every statement is idempotent (`IF NOT EXISTS`; a column added by `ALTER TABLE … ADD` that
//! already exists counts as added, since CQL has no `ADD IF NOT EXISTS` on every server), so
//! several nodes starting at once may run the same migration together: each creates what is missing and waits for schema agreement
//! before the next statement, and the version row is written last (an unconditional insert of
//! the same values). A node that finds every version recorded runs nothing.
//!
//! Why each key is what it is (see also the README's data model):
//! - `tenants`: one partition (`directory = 0`) clustered by id, so that the tenant list comes
//!   back ordered by id in one paged read; tenants are few (thousands) and rarely written.
//! - `offices`, `rooms`, `sensors`: partitioned by tenant, clustered by id: a tenant's registry
//!   is one partition each (lists ordered by id, room and sensor ids unique per tenant through
//!   `IF NOT EXISTS` on that key), and erasure drops whole partitions.
//! - `sensors_by_key_hash`: partitioned by the key hash alone, the one lookup that has no
//!   tenant (authentication); `IF NOT EXISTS` keeps a hash unique across every tenant.
//! - `tenant_control`: partitioned by tenant, clustered by office: the office's owner token
//!   (raised by an LWT), and, as static columns of the tenant, its retention override and the
//!   erased mark. A write reads this one partition per tenant to check erasure and tokens.
//! - `room_state`: one partition per `(tenant, room)`, one row: the room's state with its dedup
//!   marks, replaced on every write.
//! - `readings`: partitioned by `(tenant, room, day)` (UTC day of the sensor time), clustered by
//!   `(ts, sensor, seq)`: a partition holds one room's day (bounded), a range read walks days in
//!   order, a replayed reading rewrites the same row, and time-window compaction drops whole
//!   expired days.
//! - `rollups_*`: one table per resolution (own TTL), partitioned by `(tenant, room, bucket)` with
//!   a bucket wide enough to hold a few thousand rows, clustered by `bucket_start`.
//! - `tenant_partitions`: partitioned by tenant, clustered by `(kind, room, bucket)`: every data
//!   partition a tenant ever wrote, so that range reads find a room's days and erasure and
//!   retention find a tenant's partitions without scanning the cluster.
//! - `office_calendars`: partitioned by tenant, clustered by office, like `offices`; a
//!   separate table (added by migration 2) so the office rows keep their shape.
//! - `token_revocation_marks`: partitioned by tenant, clustered by the mark descending: every
//!   "tokens issued before T are revoked" is an insert, and the first row is the mark in force
//!   (it only rises, without a read-modify-write); `revoked_tokens`: partitioned by tenant,
//!   clustered by token id, each row with a TTL ending when its token expires (migration 3).
//! - `room_intents`: one partition per `(tenant, room)`, like `room_state`: the rows a room's
//!   write is about to store, recorded before them (migration 5), so that a write cut off
//!   part-way is completed when the room is next read rather than half-stored (`intent.rs`).
//! - `sensor_keys`: partitioned by tenant, clustered by `(sensor, key_hash)`: the keys added to
//!   a sensor after its first (migration 6, which also gave `sensors_by_key_hash` its
//!   `created_at` and `expires_at`); a sensor's keys are one slice, erasure drops the partition.
//! - `erasures`: the audit record of an erasure, by tenant; it survives the erasure.
//! - `audit_log`: one partition per `(scope, day)` (a tenant's id or `@platform`; the UTC day
//!   of the entry), clustered by id descending: bounded partitions read newest first;
//!   `audit_days`: per scope, its days holding entries, so a read skips empty days. Both with
//!   a TTL ending at the entry's `keep_until` (migration 7).
//! - `office_rollups_*` (migration 8): an office's rollups (its rooms' counts summed), one
//!   table per resolution like `rollups_*` (own TTLs, time-window compaction for minutes),
//!   partitioned by `(tenant, area, bucket)` with the same bucket widths (a day of minutes, 30
//!   days of quarter hours, a year of hours, ten years of days: at most 1 440, 2 880, 8 784 and
//!   3 653 rows a partition), clustered by `bucket_start`. `area` is the office id, not
//!   `office`, because an aggregate area need not be an office (the whole tenant may become
//!   one); the partitions are listed in `tenant_partitions` (`room` = the area), so reads,
//!   retention and erasure find them as they find a room's. `office_rollup_frontiers`:
//!   partitioned by tenant, clustered by area, like `office_calendars`: one row per area, how
//!   far its stored rollups reach; erasure drops the tenant's partition.

use scylla::client::session::Session;
use scylla::statement::Statement;

use super::errors::cql;
use crate::StoreError;

/// One migration: a version, what it does, and its statements (`{ks}` is the keyspace).
struct Migration {
    version: i32,
    description: &'static str,
    statements: &'static [&'static str],
}

/// Every migration, in version order.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "registry, owner tokens, room states, readings, rollups, partition index, erasures",
        statements: &[
            "CREATE TABLE IF NOT EXISTS {ks}.tenants (directory int, id text, name text, \
         PRIMARY KEY ((directory), id))",
            "CREATE TABLE IF NOT EXISTS {ks}.offices (tenant text, id text, name text, \
         PRIMARY KEY ((tenant), id))",
            "CREATE TABLE IF NOT EXISTS {ks}.rooms (tenant text, id text, office text, name text, \
         capacity int, count_mode text, PRIMARY KEY ((tenant), id))",
            "CREATE TABLE IF NOT EXISTS {ks}.sensors (tenant text, id text, office text, room text, \
         key_hash blob, PRIMARY KEY ((tenant), id))",
            "CREATE TABLE IF NOT EXISTS {ks}.sensors_by_key_hash (key_hash blob PRIMARY KEY, \
         tenant text, office text, room text, sensor text)",
            "CREATE TABLE IF NOT EXISTS {ks}.tenant_control (tenant text, office text, \
         erased boolean static, retention blob static, owner_token bigint, \
         PRIMARY KEY ((tenant), office))",
            "CREATE TABLE IF NOT EXISTS {ks}.room_state (tenant text, room text, state blob, \
         PRIMARY KEY ((tenant, room)))",
            "CREATE TABLE IF NOT EXISTS {ks}.readings (tenant text, room text, day bigint, \
         ts bigint, sensor text, seq bigint, count int, received_at bigint, \
         PRIMARY KEY ((tenant, room, day), ts, sensor, seq)) \
         WITH compaction = {'class': 'TimeWindowCompactionStrategy', \
         'compaction_window_unit': 'DAYS', 'compaction_window_size': 1}",
            "CREATE TABLE IF NOT EXISTS {ks}.rollups_minute (tenant text, room text, bucket bigint, \
         bucket_start bigint, avg double, peak int, occupied_s double, samples int, \
         PRIMARY KEY ((tenant, room, bucket), bucket_start)) \
         WITH compaction = {'class': 'TimeWindowCompactionStrategy', \
         'compaction_window_unit': 'DAYS', 'compaction_window_size': 7}",
            "CREATE TABLE IF NOT EXISTS {ks}.rollups_fifteen_minutes (tenant text, room text, \
         bucket bigint, bucket_start bigint, avg double, peak int, occupied_s double, \
         samples int, PRIMARY KEY ((tenant, room, bucket), bucket_start))",
            "CREATE TABLE IF NOT EXISTS {ks}.rollups_hour (tenant text, room text, bucket bigint, \
         bucket_start bigint, avg double, peak int, occupied_s double, samples int, \
         PRIMARY KEY ((tenant, room, bucket), bucket_start))",
            "CREATE TABLE IF NOT EXISTS {ks}.rollups_day (tenant text, room text, bucket bigint, \
         bucket_start bigint, avg double, peak int, occupied_s double, samples int, \
         PRIMARY KEY ((tenant, room, bucket), bucket_start))",
            "CREATE TABLE IF NOT EXISTS {ks}.tenant_partitions (tenant text, kind text, room text, \
         bucket bigint, PRIMARY KEY ((tenant), kind, room, bucket))",
            "CREATE TABLE IF NOT EXISTS {ks}.erasures (tenant text PRIMARY KEY, requested_by text, \
         requested_at bigint, finished_at bigint, readings bigint, rollups bigint, \
         room_states bigint, registry bigint)",
        ],
    },
    Migration {
        version: 2,
        description: "office calendars",
        statements: &[
            "CREATE TABLE IF NOT EXISTS {ks}.office_calendars (tenant text, office text, \
         calendar blob, PRIMARY KEY ((tenant), office))",
        ],
    },
    Migration {
        version: 3,
        description: "token revocations",
        statements: &[
            "CREATE TABLE IF NOT EXISTS {ks}.token_revocation_marks (tenant text, \
         issued_before bigint, PRIMARY KEY ((tenant), issued_before)) \
         WITH CLUSTERING ORDER BY (issued_before DESC)",
            "CREATE TABLE IF NOT EXISTS {ks}.revoked_tokens (tenant text, token_id text, \
         expires_at bigint, PRIMARY KEY ((tenant), token_id))",
        ],
    },
    Migration {
        version: 4,
        description: "rollups keep their bucket statistics",
        statements: &[
            "ALTER TABLE {ks}.rollups_minute ADD stats blob",
            "ALTER TABLE {ks}.rollups_fifteen_minutes ADD stats blob",
            "ALTER TABLE {ks}.rollups_hour ADD stats blob",
            "ALTER TABLE {ks}.rollups_day ADD stats blob",
        ],
    },
    Migration {
        version: 5,
        description: "room write intents",
        statements: &[
            "CREATE TABLE IF NOT EXISTS {ks}.room_intents (tenant text, room text, \
         intent blob, PRIMARY KEY ((tenant, room)))",
        ],
    },
    Migration {
        version: 6,
        description: "several keys per sensor",
        statements: &[
            "ALTER TABLE {ks}.sensors_by_key_hash ADD created_at bigint",
            "ALTER TABLE {ks}.sensors_by_key_hash ADD expires_at bigint",
            "CREATE TABLE IF NOT EXISTS {ks}.sensor_keys (tenant text, sensor text, \
         key_hash blob, PRIMARY KEY ((tenant), sensor, key_hash))",
        ],
    },
    Migration {
        version: 7,
        description: "audit log",
        statements: &[
            "CREATE TABLE IF NOT EXISTS {ks}.audit_days (scope text, day bigint, \
         PRIMARY KEY ((scope), day)) WITH CLUSTERING ORDER BY (day DESC)",
            "CREATE TABLE IF NOT EXISTS {ks}.audit_log (scope text, day bigint, id text, \
         tenant text, at bigint, kind text, principal text, source text, request_id text, \
         outcome text, detail text, keep_until bigint, PRIMARY KEY ((scope, day), id)) \
         WITH CLUSTERING ORDER BY (id DESC)",
        ],
    },
    Migration {
        version: 8,
        description: "office rollups",
        statements: &[
            "CREATE TABLE IF NOT EXISTS {ks}.office_rollups_minute (tenant text, area text, \
         bucket bigint, bucket_start bigint, avg double, peak int, occupied_s double, \
         samples int, stats blob, PRIMARY KEY ((tenant, area, bucket), bucket_start)) \
         WITH compaction = {'class': 'TimeWindowCompactionStrategy', \
         'compaction_window_unit': 'DAYS', 'compaction_window_size': 7}",
            "CREATE TABLE IF NOT EXISTS {ks}.office_rollups_fifteen_minutes (tenant text, \
         area text, bucket bigint, bucket_start bigint, avg double, peak int, \
         occupied_s double, samples int, stats blob, \
         PRIMARY KEY ((tenant, area, bucket), bucket_start))",
            "CREATE TABLE IF NOT EXISTS {ks}.office_rollups_hour (tenant text, area text, \
         bucket bigint, bucket_start bigint, avg double, peak int, occupied_s double, \
         samples int, stats blob, PRIMARY KEY ((tenant, area, bucket), bucket_start))",
            "CREATE TABLE IF NOT EXISTS {ks}.office_rollups_day (tenant text, area text, \
         bucket bigint, bucket_start bigint, avg double, peak int, occupied_s double, \
         samples int, stats blob, PRIMARY KEY ((tenant, area, bucket), bucket_start))",
            "CREATE TABLE IF NOT EXISTS {ks}.office_rollup_frontiers (tenant text, area text, \
         from_ms bigint, to_ms bigint, PRIMARY KEY ((tenant), area))",
        ],
    },
];

/// Creates the keyspace if missing, then applies every migration not yet recorded.
///
/// `replication` is the CQL replication map of a new keyspace.
pub(super) async fn migrate(
    session: &Session,
    keyspace: &str,
    replication: &str,
) -> Result<(), StoreError> {
    run(
        session,
        &format!("CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = {replication}"),
    )
    .await?;
    run(
        session,
        &format!(
            "CREATE TABLE IF NOT EXISTS {keyspace}.schema_migrations (version int PRIMARY KEY, \
             description text)"
        ),
    )
    .await?;
    let applied = applied_versions(session, keyspace).await?;
    for migration in MIGRATIONS {
        if applied.contains(&migration.version) {
            continue;
        }
        for statement in migration.statements {
            match run(session, &statement.replace("{ks}", keyspace)).await {
                Err(err) if statement.contains(" ADD ") && column_exists(&err) => {}
                result => result?,
            }
        }
        let mut record = Statement::new(format!(
            "INSERT INTO {keyspace}.schema_migrations (version, description) VALUES (?, ?)"
        ));
        record.set_is_idempotent(true);
        session
            .query_unpaged(record, (migration.version, migration.description))
            .await
            .map_err(cql)?;
        tracing::info!(version = migration.version, "ScyllaDB schema migrated");
    }
    Ok(())
}

/// The versions recorded as applied.
async fn applied_versions(session: &Session, keyspace: &str) -> Result<Vec<i32>, StoreError> {
    let result = session
        .query_unpaged(
            format!("SELECT version FROM {keyspace}.schema_migrations"),
            (),
        )
        .await
        .map_err(cql)?;
    let rows = result.into_rows_result().map_err(super::errors::shape)?;
    rows.rows::<(i32,)>()
        .map_err(super::errors::shape)?
        .map(|row| row.map(|(version,)| version).map_err(super::errors::shape))
        .collect()
}

/// Whether a failed `ALTER TABLE … ADD` failed because the column is there already (another
/// node added it): Cassandra says "already exists", ScyllaDB "conflicts with an existing column".
fn column_exists(err: &StoreError) -> bool {
    let text = err.to_string();
    text.contains("already exists") || text.contains("conflicts with an existing column")
}

/// Runs one schema statement and waits until every node agrees on the schema.
async fn run(session: &Session, cql_text: &str) -> Result<(), StoreError> {
    let mut statement = Statement::new(cql_text.to_owned());
    statement.set_is_idempotent(true);
    session.query_unpaged(statement, ()).await.map_err(cql)?;
    session
        .await_schema_agreement()
        .await
        .map_err(|e| StoreError::Unavailable(format!("cql: schema agreement: {e}")))?;
    Ok(())
}
