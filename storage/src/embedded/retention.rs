//! Retention sweeps of the embedded store: range deletes per tenant and room (and area, for
//! the office and tenant rollups).
//!
//! A tenant's rooms are those with a stored state (every batch writes its rooms' states), so
//! each room's readings and rollups older than the cutoff are one key range each. Deletes are
//! committed in chunks; a crash between chunks leaves rows for the next sweep.

use fjall::Keyspace;
use tally_protocol::{RoomId, TenantId};

use super::{
    Inner,
    codec::{backend, get, scan_prefix},
    keys,
};
use crate::{
    Office, RetentionPolicy, RetentionReport, RollupArea, StoreError, Tenant,
    retention::RESOLUTIONS,
};

/// Most keys deleted per committed batch.
pub(super) const CHUNK: usize = 10_000;

/// Deletes every tenant's rows older than its policy at `now`.
pub(super) fn apply(
    inner: &Inner,
    defaults: &RetentionPolicy,
    now: i64,
) -> Result<RetentionReport, StoreError> {
    let mut report = RetentionReport::default();
    let tenants: Vec<Tenant> = scan_prefix(&inner.registry, &keys::tenants(), "tenant")?;
    for tenant in tenants {
        if inner.erased(&tenant.id)? {
            continue;
        }
        let policy: RetentionPolicy = get(
            &inner.registry,
            &keys::retention(&tenant.id),
            "retention policy",
        )?
        .unwrap_or(*defaults);
        let readings_cutoff = RetentionPolicy::cutoff(now, policy.readings);
        for room in rooms_with_state(inner, &tenant.id)? {
            let start = keys::readings_from(&tenant.id, &room, i64::MIN);
            let end = keys::readings_from(&tenant.id, &room, readings_cutoff);
            report.readings += delete_range(inner, &inner.readings, &start, &end)?;
            report.rollups += delete_rollups(inner, &policy, now, |resolution, ts| {
                keys::rollup(&tenant.id, &room, resolution, ts)
            })?;
        }
        let offices: Vec<Office> =
            scan_prefix(&inner.registry, &keys::offices(&tenant.id), "office")?;
        let areas = offices
            .into_iter()
            .map(|office| RollupArea::Office(office.id))
            .chain([RollupArea::Tenant]);
        for area in areas {
            report.rollups += delete_rollups(inner, &policy, now, |resolution, ts| {
                keys::area_rollup(&tenant.id, &area, resolution, ts)
            })?;
        }
        report.tenants += 1;
    }
    report.audit_entries = super::audit::expire(inner, now)?;
    Ok(report)
}

/// Deletes the rollups of one room or area (`key` of a resolution and a bucket start)
/// older than the policy's cutoff of each resolution; returns how many.
fn delete_rollups(
    inner: &Inner,
    policy: &RetentionPolicy,
    now: i64,
    key: impl Fn(crate::Resolution, i64) -> Vec<u8>,
) -> Result<u64, StoreError> {
    let mut deleted = 0;
    for resolution in RESOLUTIONS {
        let cutoff = RetentionPolicy::cutoff(now, policy.rollups(resolution.analytics()));
        let (start, end) = (key(resolution, i64::MIN), key(resolution, cutoff));
        deleted += delete_range(inner, &inner.rollups, &start, &end)?;
    }
    Ok(deleted)
}

/// The rooms of a tenant that have a stored state.
pub(super) fn rooms_with_state(
    inner: &Inner,
    tenant: &TenantId,
) -> Result<Vec<RoomId>, StoreError> {
    let prefix = keys::tenant_partition(tenant);
    inner
        .room_state
        .prefix(&prefix)
        .map(|guard| {
            let key = guard.key().map_err(backend)?;
            keys::state_room(&key, prefix.len())
                .and_then(|bytes| std::str::from_utf8(bytes).ok())
                .and_then(|id| RoomId::new(id).ok())
                .ok_or_else(|| StoreError::Corrupt(format!("malformed room state key {key:?}")))
        })
        .collect()
}

/// Deletes every key of `keyspace` in `[start, end)`, in chunks; returns how many.
fn delete_range(
    inner: &Inner,
    keyspace: &Keyspace,
    start: &[u8],
    end: &[u8],
) -> Result<u64, StoreError> {
    if start >= end {
        return Ok(0);
    }
    let mut deleted = 0;
    loop {
        let chunk = keyspace
            .range(start..end)
            .take(CHUNK)
            .map(|guard| guard.key().map_err(backend))
            .collect::<Result<Vec<_>, StoreError>>()?;
        if chunk.is_empty() {
            return Ok(deleted);
        }
        let mut batch = inner.durable_batch();
        for key in &chunk {
            batch.remove(keyspace, key.clone());
        }
        inner.commit(batch)?;
        deleted += chunk.len() as u64;
    }
}
