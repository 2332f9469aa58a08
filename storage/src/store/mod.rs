//! The [`Store`]: what every storage backend provides, in three groups of methods: the
//! registry (tenants, offices, rooms, sensors with their key hashes, retention overrides), the
//! data (group-commit writes under owner tokens, room states, paged range reads) and
//! maintenance (retention sweeps, erasure of a tenant).
//!
//! It stays one trait rather than one per group: callers holding a concrete store (tests,
//! benches) would otherwise have to import every part, and what the split was meant to remove,
//! the fault injector forwarding every method, [`StoreLayer`] removes instead: a wrapper
//! implements a few hooks and is a [`Store`], with every method forwarded once, in `layer.rs`.
//!
//! # Errors: retryable or fatal
//!
//! Every method fails with [`StoreError::Unavailable`] when the backend is unreachable or failed
//! transiently (connection lost, server restarting, serialization failure, timeout): that is the
//! one retryable error ([`StoreError::is_retryable`]), and nothing of a failed write may be
//! assumed durable. [`StoreError::Backend`] and [`StoreError::Corrupt`] are fatal: retrying will
//! not help without an operator. The other variants answer the request itself (`NotFound`,
//! `AlreadyExists`, `Fenced`, `Erased`) and are not retryable either.
//!
//! # Erased tenants
//!
//! From the moment [`Store::erase_tenant`] has marked a tenant, every read of it
//! answers as for a missing tenant (`None`, empty lists and pages) and every write of it fails
//! with [`StoreError::Erased`].

mod layer;

use std::sync::Arc;

use async_trait::async_trait;
use tally_protocol::{OfficeId, RoomId, SensorId, TenantId, TimestampMs};

use crate::paging::every_page;
use crate::{
    AreaRollupWrite, AuditEntry, AuditPage, AuditScope, ErasureReport, KeyHash, MAX_PAGE_LIMIT,
    Office, OfficeCalendar, PageRequest, ReadingCursor, ReadingsPage, Resolution, RetentionPolicy,
    RetentionReport, Rollup, RollupArea, RollupFrontier, RollupsPage, Room, RoomState, Sensor,
    SensorKey, StoreError, Tenant, TimeRange, TokenRevocations, WriteBatch,
};
pub use layer::StoreLayer;

/// A store shared by every actor and handler of a node.
pub type SharedStore = Arc<dyn Store>;

/// Durable storage of the registry, raw readings, room states and rollups.
///
/// Every read takes the tenant: a backend never returns another tenant's data.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    // Registry: tenants, offices, rooms, sensors (creates fail with `Erased` for an erased
    // tenant, and `create_tenant` for an erased id: an erased id is never reused).

    /// Creates a tenant.
    ///
    /// # Errors
    /// [`StoreError::AlreadyExists`] if the id is taken, [`StoreError::Erased`] if it was erased.
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError>;
    /// A tenant by id.
    async fn tenant(&self, tenant: &TenantId) -> Result<Option<Tenant>, StoreError>;
    /// Every tenant, ordered by id.
    async fn tenants(&self) -> Result<Vec<Tenant>, StoreError>;

    /// Creates an office.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] without its tenant, [`StoreError::AlreadyExists`] if taken.
    async fn create_office(&self, office: &Office) -> Result<(), StoreError>;
    /// An office of a tenant.
    async fn office(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
    ) -> Result<Option<Office>, StoreError>;
    /// Every office of a tenant, ordered by id.
    async fn offices(&self, tenant: &TenantId) -> Result<Vec<Office>, StoreError>;
    /// Sets an office's calendar (time zone and working hours), replacing any earlier one.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] without the office.
    async fn set_office_calendar(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
        calendar: &OfficeCalendar,
    ) -> Result<(), StoreError>;
    /// An office's calendar, if one was set.
    async fn office_calendar(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
    ) -> Result<Option<OfficeCalendar>, StoreError>;

    /// Creates a room.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] without its office, [`StoreError::AlreadyExists`] if the room id
    /// is taken anywhere in the tenant.
    async fn create_room(&self, room: &Room) -> Result<(), StoreError>;
    /// A room of a tenant.
    async fn room(&self, tenant: &TenantId, room: &RoomId) -> Result<Option<Room>, StoreError>;
    /// Every room of an office, ordered by id.
    async fn rooms(&self, tenant: &TenantId, office: &OfficeId) -> Result<Vec<Room>, StoreError>;

    /// Creates a sensor with the hash of its key.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] without its room (in the sensor's office),
    /// [`StoreError::AlreadyExists`] if the sensor id or the key hash is taken.
    async fn create_sensor(&self, sensor: &Sensor, key_hash: &KeyHash) -> Result<(), StoreError>;
    /// A sensor of a tenant.
    async fn sensor(
        &self,
        tenant: &TenantId,
        sensor: &SensorId,
    ) -> Result<Option<Sensor>, StoreError>;
    /// Every sensor of a room, ordered by id.
    async fn sensors(&self, tenant: &TenantId, room: &RoomId) -> Result<Vec<Sensor>, StoreError>;
    /// The sensor whose key hashes to `key_hash` and is valid at `now` (authentication): one
    /// indexed read by hash; an expired, revoked or unknown key finds nothing.
    async fn sensor_by_key_hash(
        &self,
        key_hash: &KeyHash,
        now: TimestampMs,
    ) -> Result<Option<Sensor>, StoreError>;
    /// Adds a key to a sensor (its hash unique across every tenant). With `others_expire_at`,
    /// every other key of the sensor expires at that time at the latest (rotation: the old keys
    /// stay valid until then); an earlier expiry already set is kept.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] without the sensor (in this tenant),
    /// [`StoreError::AlreadyExists`] if the key hash is taken, [`StoreError::Erased`].
    async fn add_sensor_key(
        &self,
        tenant: &TenantId,
        sensor: &SensorId,
        key: &SensorKey,
        others_expire_at: Option<TimestampMs>,
    ) -> Result<(), StoreError>;
    /// The stored keys of a sensor (expired ones too, until they are revoked), ordered by
    /// creation, oldest first; none for a sensor the tenant does not have.
    async fn sensor_keys(
        &self,
        tenant: &TenantId,
        sensor: &SensorId,
    ) -> Result<Vec<SensorKey>, StoreError>;
    /// Revokes (deletes) one key of a sensor (`Some`) or every key (`None`); returns how many
    /// were deleted (0 when the key is not this sensor's).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] without the sensor (in this tenant).
    async fn revoke_sensor_keys(
        &self,
        tenant: &TenantId,
        sensor: &SensorId,
        key: Option<&KeyHash>,
    ) -> Result<u64, StoreError>;
    /// Deletes a sensor and every key of it. Its readings stay (they are the room's history),
    /// and so does its dedup mark in the room's state: a sensor created again with the same id
    /// learns its last seq from `welcome` as after any reconnect.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] without the sensor (in this tenant).
    async fn delete_sensor(&self, tenant: &TenantId, sensor: &SensorId) -> Result<(), StoreError>;

    /// Sets (`Some`) or clears (`None`) the tenant's own retention policy, which replaces the
    /// node's defaults for it in [`Store::apply_retention`].
    ///
    /// # Errors
    /// [`StoreError::NotFound`] without the tenant.
    async fn set_retention(
        &self,
        tenant: &TenantId,
        policy: Option<&RetentionPolicy>,
    ) -> Result<(), StoreError>;
    /// The tenant's own retention policy, if it has one.
    async fn retention(&self, tenant: &TenantId) -> Result<Option<RetentionPolicy>, StoreError>;

    /// Revokes every token of the tenant issued before `before` (seconds since the epoch).
    /// The mark only rises: an earlier `before` than the stored one changes nothing. Returns
    /// the mark now in force.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] without the tenant, [`StoreError::Erased`] if it was erased.
    async fn revoke_tokens_issued_before(
        &self,
        tenant: &TenantId,
        before: u64,
    ) -> Result<u64, StoreError>;
    /// Revokes one token of the tenant by its id (`jti`, see [`crate::valid_token_id`]), kept
    /// until `expires_at` (seconds since the epoch), after which the token is invalid anyway
    /// and the store may forget it.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] without the tenant, [`StoreError::Erased`] if it was erased.
    async fn revoke_token(
        &self,
        tenant: &TenantId,
        token_id: &str,
        expires_at: u64,
    ) -> Result<(), StoreError>;
    /// The tenant's revoked tokens: its mark and the ids that expire after `now` (seconds).
    async fn token_revocations(
        &self,
        tenant: &TenantId,
        now: u64,
    ) -> Result<TokenRevocations, StoreError>;

    // Audit log: append-only, per tenant or platform, kept until each entry's `keep_until`.

    /// Appends an audit entry to its scope's log (a tenant's, even an erased one's, or the
    /// platform's). Entries are never changed; [`Store::apply_retention`] deletes those past
    /// their `keep_until` (ScyllaDB: a TTL). Appending an entry twice (same id) keeps one.
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// One page of a scope's audit log, newest first: entries with `at` in `range`, starting
    /// strictly before the id `page.after` (the [`crate::Page::next`] of the previous page).
    async fn audit(
        &self,
        scope: &AuditScope,
        range: TimeRange,
        page: PageRequest<String>,
    ) -> Result<AuditPage, StoreError>;

    // Data: group-commit writes under owner tokens, room states and paged range reads.

    /// Writes a batch; returns once it is durable (survives `kill -9` and power loss as far as
    /// the backend can promise).
    ///
    /// # Atomicity: the whole batch
    ///
    /// What the persister may rely on: `Ok` means every row of every room of the batch (its
    /// readings, its state and its rollups) is durable; `Err` means **no** row of the batch was
    /// written, except that after an [`StoreError::Unavailable`] whose commit outcome the
    /// backend could not learn (connection lost while committing) the whole batch may be there.
    /// A batch is never partly written. This is stronger than the per-room atomicity a
    /// networked store needs to promise at least: both backends commit a batch as one unit (one
    /// fjall batch, one PostgreSQL transaction), so per-room results would add a partial-failure
    /// path to the persister without making either backend simpler. Replaying a batch is
    /// harmless (readings are keyed by `(tenant, room, ts, sensor, seq)`; states and rollups are
    /// replaced).
    ///
    /// # Fencing
    ///
    /// Each [`crate::RoomWrite`] carries its office's owner token. If the store holds a higher
    /// token for any office of the batch, the whole batch is rejected with
    /// [`StoreError::Fenced`] naming the first such office; a caller that wants the other
    /// offices' rows written resends the batch without that office. A token equal to or higher
    /// than the stored one is accepted (and does not change the stored one); an office without
    /// a stored token holds 0.
    ///
    /// # Errors
    /// [`StoreError::Fenced`], [`StoreError::Erased`] if a tenant of the batch is erased,
    /// [`StoreError::Unavailable`] (retryable), [`StoreError::Backend`].
    ///
    /// The batch is shared (`Arc`) so that a caller that retries a transient failure keeps it
    /// without copying every row of every group commit.
    async fn write_batch(&self, batch: Arc<WriteBatch>) -> Result<(), StoreError>;

    /// Takes ownership of an office: atomically raises the office's owner token by one (from 0
    /// for an office that never had one) and returns it. The store, which also enforces the
    /// token in [`Store::write_batch`], mints it, so every caller gets a distinct token and
    /// a new owner's token is strictly higher than every earlier owner's.
    ///
    /// # Errors
    /// [`StoreError::Erased`] for an erased tenant.
    async fn acquire_office(&self, tenant: &TenantId, office: &OfficeId)
    -> Result<u64, StoreError>;

    /// The last written state of a room.
    async fn room_state(
        &self,
        tenant: &TenantId,
        room: &RoomId,
    ) -> Result<Option<RoomState>, StoreError>;

    /// One page of the raw readings of a room with `ts` in `range`, ordered by
    /// `(ts, sensor, seq)`, starting after `page.after`.
    async fn readings(
        &self,
        tenant: &TenantId,
        room: &RoomId,
        range: TimeRange,
        page: PageRequest<ReadingCursor>,
    ) -> Result<ReadingsPage, StoreError>;

    /// One page of the rollups of a room at `resolution` with `bucket_start` in `range`,
    /// ordered by start, starting after the bucket `page.after`.
    async fn rollups(
        &self,
        tenant: &TenantId,
        room: &RoomId,
        resolution: Resolution,
        range: TimeRange,
        page: PageRequest<TimestampMs>,
    ) -> Result<RollupsPage, StoreError>;

    /// Every rollup of a room at `resolution` with `bucket_start` in one of `ranges` (ordered,
    /// not overlapping), by start: what an answer reads of many short stretches (the quarter
    /// hours at the edges of a year of working days). By default range after range, page after
    /// page ([`Store::rollups`]); a backend that reads them in one go overrides it.
    async fn rollups_in_ranges(
        &self,
        tenant: &TenantId,
        room: &RoomId,
        resolution: Resolution,
        ranges: &[TimeRange],
    ) -> Result<Vec<Rollup>, StoreError> {
        let mut rollups = Vec::new();
        for &range in ranges {
            let read = |page| self.rollups(tenant, room, resolution, range, page);
            rollups.extend(every_page(MAX_PAGE_LIMIT, read).await?);
        }
        Ok(rollups)
    }

    // Area rollups: an area's rooms' counts summed at the same instants (an office's in its
    // local time, the tenant's, every room of every office, in UTC), finalised by the owner of
    // the office that finalises the area once late readings can no longer change them. Kept by
    // every backend of tally; a backend that does not keep them answers with none (see
    // `keeps_area_rollups`), and answers are then computed from the rooms' raw readings.

    /// Whether this backend keeps area rollups (the embedded store, PostgreSQL and ScyllaDB
    /// do; a store that does not answers every office and tenant from its rooms' raw readings).
    fn keeps_area_rollups(&self) -> bool {
        false
    }

    /// Writes an area's finalised rollups and its new frontier atomically and durably, under
    /// the owner token of `write.office` (fenced as [`Store::write_batch`] is).
    ///
    /// # Errors
    /// [`StoreError::Fenced`], [`StoreError::Erased`], [`StoreError::Unavailable`]
    /// (retryable), [`StoreError::Backend`] (also from a backend that keeps no area rollups).
    async fn write_area_rollups(&self, write: &AreaRollupWrite) -> Result<(), StoreError> {
        Err(StoreError::Backend(format!(
            "this store keeps no area rollups ({} of tenant {})",
            write.area, write.tenant
        )))
    }

    /// How far an area's stored rollups reach (`None` before its first write, and always
    /// from a backend that keeps none).
    async fn area_rollup_frontier(
        &self,
        _tenant: &TenantId,
        _area: &RollupArea,
    ) -> Result<Option<RollupFrontier>, StoreError> {
        Ok(None)
    }

    /// One page of the rollups of an area at `resolution` with `bucket_start` in `range`,
    /// ordered by start, starting after the bucket `page.after`.
    async fn area_rollups(
        &self,
        _tenant: &TenantId,
        _area: &RollupArea,
        _resolution: Resolution,
        _range: TimeRange,
        _page: PageRequest<TimestampMs>,
    ) -> Result<RollupsPage, StoreError> {
        Ok(RollupsPage::default())
    }

    /// Every rollup of an area at `resolution` with `bucket_start` in one of `ranges`, by start
    /// (as [`Store::rollups_in_ranges`] for a room; by default through
    /// [`Store::area_rollups`]).
    async fn area_rollups_in_ranges(
        &self,
        tenant: &TenantId,
        area: &RollupArea,
        resolution: Resolution,
        ranges: &[TimeRange],
    ) -> Result<Vec<Rollup>, StoreError> {
        let mut rollups = Vec::new();
        for &range in ranges {
            let read = |page| self.area_rollups(tenant, area, resolution, range, page);
            rollups.extend(every_page(MAX_PAGE_LIMIT, read).await?);
        }
        Ok(rollups)
    }

    // Maintenance: retention sweeps and erasure, across tenants.

    /// Deletes, for every tenant of the registry, the raw readings and rollups older than its
    /// retention at `now`: its own policy ([`Store::set_retention`]) or
    /// `defaults`, and every audit entry whose `keep_until` is not after `now`. Room states and
    /// the registry are kept. Safe to run concurrently with writes
    /// and on several nodes at once; rows that stop being due in between are deleted by the
    /// next sweep.
    ///
    /// PostgreSQL drops whole day partitions of raw readings where every row is older than the
    /// longest readings retention of any tenant (and of `defaults`), and deletes per tenant
    /// elsewhere; the embedded store deletes per tenant and room.
    async fn apply_retention(
        &self,
        defaults: &RetentionPolicy,
        now: TimestampMs,
    ) -> Result<RetentionReport, StoreError>;

    /// Erases a tenant: first marks it erased (from then on nothing of it is accepted and its
    /// reads answer as for a missing tenant, see [`crate::StoreError::Erased`]), then deletes
    /// every row of it (registry, sensor keys, owner tokens, retention override, room states,
    /// readings, rollups) and verifies by reading back that nothing remains.
    ///
    /// Idempotent and resumable: a call after a crash halfway (or after a finished erasure)
    /// finishes the job; the audit record keeps the first request's `requested_by` and time
    /// and sums the counts. The record survives the erasure ([`Store::erasure`]).
    ///
    /// # Errors
    /// [`StoreError::Backend`] if rows remain after deleting (the record stays unfinished).
    async fn erase_tenant(
        &self,
        tenant: &TenantId,
        requested_by: &str,
        now: TimestampMs,
    ) -> Result<ErasureReport, StoreError>;

    /// The audit record of a tenant's erasure, if it was ever asked for (platform data).
    async fn erasure(&self, tenant: &TenantId) -> Result<Option<ErasureReport>, StoreError>;
}
