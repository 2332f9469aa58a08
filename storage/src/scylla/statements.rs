//! Every statement tally runs on ScyllaDB, prepared once when the store connects.
//!
//! Each is marked idempotent or not: plain inserts, updates and deletes by full key are
//! (running them twice leaves the same rows), so the driver may retry them after a timeout;
//! lightweight transactions (`IF …`) are not, and a timed-out LWT is reported unavailable.

use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;

use super::audit::AuditStatements;
use super::errors::prepare;
use super::office_rollups::OfficeRollupStatements;
use super::sensor_keys::KeyStatements;
use super::token_revocation::TokenStatements;
use crate::{Resolution, StoreError};

/// One day in ms: the width of a readings partition.
pub(super) const DAY_MS: i64 = 86_400_000;

/// Whose rollups a table keeps: a room's (`room` column) or an aggregate area's (`area`, an
/// office id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RollupOwner {
    /// `rollups_*`, by room.
    Room,
    /// `office_rollups_*` (migration 8), by area.
    Area,
}

impl RollupOwner {
    /// The column naming the room or area, in the data table (the partition index calls it
    /// `room` for every kind).
    fn column(self) -> &'static str {
        match self {
            Self::Room => "room",
            Self::Area => "area",
        }
    }
}

/// A rollup resolution's table of `owner`'s rollups (also its kind in `tenant_partitions`) and
/// the width of its partitions: a few thousand buckets each.
fn rollup_table(owner: RollupOwner, resolution: Resolution) -> (&'static str, i64) {
    use {Resolution as R, RollupOwner as O};
    let table = match (owner, resolution) {
        (O::Room, R::Minute) => "rollups_minute",
        (O::Room, R::FifteenMinutes) => "rollups_fifteen_minutes",
        (O::Room, R::Hour) => "rollups_hour",
        (O::Room, R::Day) => "rollups_day",
        (O::Area, R::Minute) => "office_rollups_minute",
        (O::Area, R::FifteenMinutes) => "office_rollups_fifteen_minutes",
        (O::Area, R::Hour) => "office_rollups_hour",
        (O::Area, R::Day) => "office_rollups_day",
    };
    let width = match resolution {
        R::Minute => DAY_MS,
        R::FifteenMinutes => 30 * DAY_MS,
        R::Hour => 365 * DAY_MS,
        R::Day => 3650 * DAY_MS,
    };
    (table, width)
}

/// Counting and deleting in a time-bucketed table (readings, rollups): rows before a time in
/// one partition (retention), or the whole partition (erasure).
#[derive(Debug)]
pub(super) struct BucketedTable {
    /// Its kind in `tenant_partitions`.
    pub(super) kind: &'static str,
    /// Width of one partition's bucket, in ms.
    pub(super) width: i64,
    pub(super) count_before: PreparedStatement,
    pub(super) delete_before: PreparedStatement,
    pub(super) count_partition: PreparedStatement,
    pub(super) delete_partition: PreparedStatement,
}

/// The statements of one rollup table.
#[derive(Debug)]
pub(super) struct RollupStatements {
    pub(super) insert: PreparedStatement,
    pub(super) select: PreparedStatement,
    pub(super) table: BucketedTable,
}

/// Every prepared statement of the store.
#[derive(Debug)]
pub(super) struct Statements {
    pub(super) insert_tenant: PreparedStatement,
    pub(super) select_tenant: PreparedStatement,
    pub(super) select_tenants: PreparedStatement,
    pub(super) delete_tenant: PreparedStatement,
    pub(super) insert_office: PreparedStatement,
    pub(super) select_office: PreparedStatement,
    pub(super) select_offices: PreparedStatement,
    pub(super) delete_offices: PreparedStatement,
    pub(super) insert_room: PreparedStatement,
    pub(super) select_room: PreparedStatement,
    pub(super) select_rooms: PreparedStatement,
    pub(super) delete_rooms: PreparedStatement,
    pub(super) insert_sensor: PreparedStatement,
    pub(super) select_sensor: PreparedStatement,
    pub(super) select_sensors: PreparedStatement,
    pub(super) delete_sensors: PreparedStatement,
    pub(super) insert_key_hash: PreparedStatement,
    pub(super) delete_key_hash: PreparedStatement,
    pub(super) select_control: PreparedStatement,
    pub(super) set_retention: PreparedStatement,
    pub(super) acquire_office: PreparedStatement,
    pub(super) mark_erased: PreparedStatement,
    pub(super) delete_owner: PreparedStatement,
    pub(super) insert_erasure: PreparedStatement,
    pub(super) select_erasure: PreparedStatement,
    pub(super) finish_erasure: PreparedStatement,
    pub(super) insert_state: PreparedStatement,
    pub(super) select_state: PreparedStatement,
    pub(super) delete_state: PreparedStatement,
    pub(super) insert_intent: PreparedStatement,
    pub(super) select_intent: PreparedStatement,
    pub(super) delete_intent: PreparedStatement,
    pub(super) insert_reading: PreparedStatement,
    pub(super) select_readings_from: PreparedStatement,
    pub(super) select_readings_after: PreparedStatement,
    pub(super) readings: BucketedTable,
    pub(super) insert_partition: PreparedStatement,
    pub(super) select_room_buckets: PreparedStatement,
    pub(super) select_partitions_of_kind: PreparedStatement,
    pub(super) select_partitions: PreparedStatement,
    pub(super) delete_partition: PreparedStatement,
    /// Per resolution, in the order of `crate::retention::RESOLUTIONS`.
    pub(super) rollups: [RollupStatements; 4],
    /// Of the office rollup tables.
    pub(super) office_rollups: OfficeRollupStatements,
    pub(super) insert_office_calendar: PreparedStatement,
    pub(super) select_office_calendar: PreparedStatement,
    pub(super) select_office_calendars: PreparedStatement,
    pub(super) delete_office_calendars: PreparedStatement,
    /// Of the token revocation tables.
    pub(super) tokens: TokenStatements,
    /// The statements of sensors' keys.
    pub(super) keys: KeyStatements,
    /// Of the audit tables.
    pub(super) audit: AuditStatements,
}

/// What a statement may be retried as.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Retry {
    /// Running it twice leaves the same rows.
    Idempotent,
    /// A lightweight transaction or a read-modify-write: never retried blindly.
    Once,
}

/// Prepares `cql` (`{ks}` replaced by the keyspace).
pub(super) async fn prepared(
    session: &Session,
    keyspace: &str,
    cql: String,
    retry: Retry,
) -> Result<PreparedStatement, StoreError> {
    let mut statement = session
        .prepare(cql.replace("{ks}", keyspace))
        .await
        .map_err(prepare)?;
    statement.set_is_idempotent(retry == Retry::Idempotent);
    Ok(statement)
}

impl Statements {
    /// Prepares every statement against `keyspace`.
    pub(super) async fn prepare(session: &Session, keyspace: &str) -> Result<Self, StoreError> {
        use Retry::{Idempotent, Once};
        let p = |cql: &'static str, retry| prepared(session, keyspace, cql.to_owned(), retry);
        let rollups = RollupStatements::prepare_all(session, keyspace, RollupOwner::Room).await?;
        Ok(Self {
            insert_tenant: p(
                "INSERT INTO {ks}.tenants (directory, id, name) VALUES (0, ?, ?) IF NOT EXISTS",
                Once,
            )
            .await?,
            select_tenant: p(
                "SELECT id, name FROM {ks}.tenants WHERE directory = 0 AND id = ?",
                Idempotent,
            )
            .await?,
            select_tenants: p(
                "SELECT id, name FROM {ks}.tenants WHERE directory = 0",
                Idempotent,
            )
            .await?,
            delete_tenant: p(
                "DELETE FROM {ks}.tenants WHERE directory = 0 AND id = ?",
                Idempotent,
            )
            .await?,
            insert_office: p(
                "INSERT INTO {ks}.offices (tenant, id, name) VALUES (?, ?, ?) IF NOT EXISTS",
                Once,
            )
            .await?,
            select_office: p(
                "SELECT name FROM {ks}.offices WHERE tenant = ? AND id = ?",
                Idempotent,
            )
            .await?,
            select_offices: p(
                "SELECT id, name FROM {ks}.offices WHERE tenant = ?",
                Idempotent,
            )
            .await?,
            delete_offices: p("DELETE FROM {ks}.offices WHERE tenant = ?", Idempotent).await?,
            insert_room: p(
                "INSERT INTO {ks}.rooms (tenant, id, office, name, capacity, count_mode) \
                 VALUES (?, ?, ?, ?, ?, ?) IF NOT EXISTS",
                Once,
            )
            .await?,
            select_room: p(
                "SELECT id, office, name, capacity, count_mode FROM {ks}.rooms \
                 WHERE tenant = ? AND id = ?",
                Idempotent,
            )
            .await?,
            select_rooms: p(
                "SELECT id, office, name, capacity, count_mode FROM {ks}.rooms WHERE tenant = ?",
                Idempotent,
            )
            .await?,
            delete_rooms: p("DELETE FROM {ks}.rooms WHERE tenant = ?", Idempotent).await?,
            insert_sensor: p(
                "INSERT INTO {ks}.sensors (tenant, id, office, room, key_hash) \
                 VALUES (?, ?, ?, ?, ?) IF NOT EXISTS",
                Once,
            )
            .await?,
            select_sensor: p(
                "SELECT id, office, room, key_hash FROM {ks}.sensors WHERE tenant = ? AND id = ?",
                Idempotent,
            )
            .await?,
            select_sensors: p(
                "SELECT id, office, room, key_hash FROM {ks}.sensors WHERE tenant = ?",
                Idempotent,
            )
            .await?,
            delete_sensors: p("DELETE FROM {ks}.sensors WHERE tenant = ?", Idempotent).await?,
            insert_key_hash: p(
                "INSERT INTO {ks}.sensors_by_key_hash (key_hash, tenant, office, room, sensor, \
                 created_at) VALUES (?, ?, ?, ?, ?, ?) IF NOT EXISTS",
                Once,
            )
            .await?,
            delete_key_hash: p(
                "DELETE FROM {ks}.sensors_by_key_hash WHERE key_hash = ? IF tenant = ? AND sensor = ?",
                Once,
            )
            .await?,
            select_control: p(
                "SELECT erased, retention, office, owner_token FROM {ks}.tenant_control \
                 WHERE tenant = ?",
                Idempotent,
            )
            .await?,
            set_retention: p(
                "UPDATE {ks}.tenant_control SET retention = ? WHERE tenant = ?",
                Idempotent,
            )
            .await?,
            acquire_office: p(
                "UPDATE {ks}.tenant_control SET owner_token = ? WHERE tenant = ? AND office = ? \
                 IF erased = null AND owner_token = ?",
                Once,
            )
            .await?,
            mark_erased: p(
                "UPDATE {ks}.tenant_control SET erased = true, retention = null WHERE tenant = ?",
                Idempotent,
            )
            .await?,
            delete_owner: p(
                "DELETE FROM {ks}.tenant_control WHERE tenant = ? AND office = ?",
                Idempotent,
            )
            .await?,
            insert_erasure: p(
                "INSERT INTO {ks}.erasures (tenant, requested_by, requested_at, readings, \
                 rollups, room_states, registry) VALUES (?, ?, ?, 0, 0, 0, 0) IF NOT EXISTS",
                Once,
            )
            .await?,
            select_erasure: p(
                "SELECT requested_by, requested_at, finished_at, readings, rollups, room_states, \
                 registry FROM {ks}.erasures WHERE tenant = ?",
                Idempotent,
            )
            .await?,
            finish_erasure: p(
                "UPDATE {ks}.erasures SET finished_at = ?, readings = ?, rollups = ?, \
                 room_states = ?, registry = ? WHERE tenant = ?",
                Idempotent,
            )
            .await?,
            insert_state: p(
                "INSERT INTO {ks}.room_state (tenant, room, state) VALUES (?, ?, ?)",
                Idempotent,
            )
            .await?,
            select_state: p(
                "SELECT state, WRITETIME(state) FROM {ks}.room_state WHERE tenant = ? AND room = ?",
                Idempotent,
            )
            .await?,
            delete_state: p(
                "DELETE FROM {ks}.room_state WHERE tenant = ? AND room = ?",
                Idempotent,
            )
            .await?,
            insert_intent: p(
                "INSERT INTO {ks}.room_intents (tenant, room, intent) VALUES (?, ?, ?) USING TTL ?",
                Idempotent,
            )
            .await?,
            select_intent: p(
                "SELECT intent, WRITETIME(intent) FROM {ks}.room_intents \
                 WHERE tenant = ? AND room = ?",
                Idempotent,
            )
            .await?,
            delete_intent: p(
                "DELETE FROM {ks}.room_intents WHERE tenant = ? AND room = ?",
                Idempotent,
            )
            .await?,
            insert_reading: p(
                "INSERT INTO {ks}.readings (tenant, room, day, ts, sensor, seq, count, \
                 received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?",
                Idempotent,
            )
            .await?,
            select_readings_from: p(
                "SELECT ts, sensor, seq, count, received_at FROM {ks}.readings \
                 WHERE tenant = ? AND room = ? AND day = ? AND ts >= ? AND ts < ? LIMIT ?",
                Idempotent,
            )
            .await?,
            select_readings_after: p(
                "SELECT ts, sensor, seq, count, received_at FROM {ks}.readings \
                 WHERE tenant = ? AND room = ? AND day = ? AND (ts, sensor, seq) > (?, ?, ?) \
                 AND (ts) < (?) LIMIT ?",
                Idempotent,
            )
            .await?,
            readings: BucketedTable::prepare(
                session,
                keyspace,
                ("readings", DAY_MS),
                ["room", "day", "ts"],
            )
            .await?,
            insert_partition: p(
                "INSERT INTO {ks}.tenant_partitions (tenant, kind, room, bucket) \
                 VALUES (?, ?, ?, ?)",
                Idempotent,
            )
            .await?,
            select_room_buckets: p(
                "SELECT bucket FROM {ks}.tenant_partitions WHERE tenant = ? AND kind = ? \
                 AND room = ? AND bucket >= ? AND bucket <= ?",
                Idempotent,
            )
            .await?,
            select_partitions_of_kind: p(
                "SELECT room, bucket FROM {ks}.tenant_partitions WHERE tenant = ? AND kind = ?",
                Idempotent,
            )
            .await?,
            select_partitions: p(
                "SELECT kind, room, bucket FROM {ks}.tenant_partitions WHERE tenant = ?",
                Idempotent,
            )
            .await?,
            delete_partition: p(
                "DELETE FROM {ks}.tenant_partitions WHERE tenant = ? AND kind = ? AND room = ? \
                 AND bucket = ?",
                Idempotent,
            )
            .await?,
            rollups,
            office_rollups: OfficeRollupStatements::prepare(session, keyspace).await?,
            insert_office_calendar: p(
                "INSERT INTO {ks}.office_calendars (tenant, office, calendar) VALUES (?, ?, ?)",
                Idempotent,
            )
            .await?,
            select_office_calendar: p(
                "SELECT calendar FROM {ks}.office_calendars WHERE tenant = ? AND office = ?",
                Idempotent,
            )
            .await?,
            select_office_calendars: p(
                "SELECT office FROM {ks}.office_calendars WHERE tenant = ?",
                Idempotent,
            )
            .await?,
            delete_office_calendars: p(
                "DELETE FROM {ks}.office_calendars WHERE tenant = ?",
                Idempotent,
            )
            .await?,
            tokens: TokenStatements::prepare(session, keyspace).await?,
            keys: KeyStatements::prepare(session, keyspace).await?,
            audit: AuditStatements::prepare(session, keyspace).await?,
        })
    }

    /// The statements of `resolution`'s table of room rollups.
    pub(super) fn rollup(&self, resolution: Resolution) -> &RollupStatements {
        &self.rollups[resolution_index(resolution)]
    }

    /// Every time-bucketed table of rollups: rooms' and areas', each resolution.
    pub(super) fn rollup_tables(&self) -> impl Iterator<Item = &BucketedTable> {
        self.rollups
            .iter()
            .chain(&self.office_rollups.rollups)
            .map(|statements| &statements.table)
    }
}

/// The index of `resolution` in `crate::retention::RESOLUTIONS` (and in the per-resolution
/// statement arrays).
pub(super) fn resolution_index(resolution: Resolution) -> usize {
    crate::retention::RESOLUTIONS
        .iter()
        .position(|r| *r == resolution)
        .unwrap_or(0)
}

impl BucketedTable {
    /// Prepares the counting and deleting statements of `table`, whose partition key is
    /// `(tenant, <owner>, <bucket>)` (partitions `width` ms wide) and whose first clustering
    /// column is `<time>`.
    async fn prepare(
        session: &Session,
        keyspace: &str,
        (table, width): (&'static str, i64),
        [owner, bucket, time]: [&str; 3],
    ) -> Result<Self, StoreError> {
        let key = format!("{{ks}}.{table} WHERE tenant = ? AND {owner} = ? AND {bucket} = ?");
        let p = |cql: String| prepared(session, keyspace, cql, Retry::Idempotent);
        Ok(Self {
            kind: table,
            width,
            count_before: p(format!("SELECT COUNT(*) FROM {key} AND {time} < ?")).await?,
            delete_before: p(format!("DELETE FROM {key} AND {time} < ?")).await?,
            count_partition: p(format!("SELECT COUNT(*) FROM {key}")).await?,
            delete_partition: p(format!("DELETE FROM {key}")).await?,
        })
    }

    /// The bucket (partition) holding time `ts`.
    pub(super) fn bucket(&self, ts: i64) -> i64 {
        ts.div_euclid(self.width)
    }
}

impl RollupStatements {
    /// Prepares the statements of `owner`'s table of every resolution, in the order of
    /// `crate::retention::RESOLUTIONS`.
    pub(super) async fn prepare_all(
        session: &Session,
        keyspace: &str,
        owner: RollupOwner,
    ) -> Result<[Self; 4], StoreError> {
        let mut all = Vec::new();
        for resolution in crate::retention::RESOLUTIONS {
            all.push(Self::prepare(session, keyspace, owner, resolution).await?);
        }
        all.try_into()
            .map_err(|_| StoreError::Backend("four rollup tables".into()))
    }

    /// Prepares the statements of `owner`'s table of `resolution`.
    async fn prepare(
        session: &Session,
        keyspace: &str,
        owner: RollupOwner,
        resolution: Resolution,
    ) -> Result<Self, StoreError> {
        let (table, width) = rollup_table(owner, resolution);
        let column = owner.column();
        let p = |cql: &str| {
            prepared(
                session,
                keyspace,
                cql.replace("{t}", table).replace("{owner}", column),
                Retry::Idempotent,
            )
        };
        Ok(Self {
            insert: p(
                "INSERT INTO {ks}.{t} (tenant, {owner}, bucket, bucket_start, avg, peak, \
                 occupied_s, samples, stats) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?",
            )
            .await?,
            select: p(
                "SELECT bucket_start, avg, peak, occupied_s, samples, stats FROM {ks}.{t} \
                 WHERE tenant = ? AND {owner} = ? AND bucket = ? AND bucket_start >= ? \
                 AND bucket_start < ? LIMIT ?",
            )
            .await?,
            table: BucketedTable::prepare(
                session,
                keyspace,
                (table, width),
                [column, "bucket", "bucket_start"],
            )
            .await?,
        })
    }
}
