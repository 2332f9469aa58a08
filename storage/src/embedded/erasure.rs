//! Erasure of a tenant in the embedded store.
//!
//! 1. Under the write lock, the audit record is written to `erasures` (if not there yet): from
//!    that commit on, every write of the tenant is refused and its reads answer empty.
//! 2. Every key of the tenant is deleted, keyspace by keyspace, in chunks; each chunk's batch
//!    also rewrites the audit record with the counts so far, so a crash loses no count and a
//!    later call resumes where this one stopped.
//! 3. Every keyspace is read back; the record is finished only if nothing of the tenant is left.

use fjall::Keyspace;
use tally_protocol::{TenantId, TimestampMs};

use super::{
    Inner,
    codec::{backend, decode, encode, get},
    keys,
    registry::SensorKeyRow,
    retention::CHUNK,
};
use crate::{ErasedCounts, ErasureReport, StoreError};

/// Erases `tenant` (see the module documentation).
pub(super) fn erase(
    inner: &Inner,
    tenant: &TenantId,
    requested_by: &str,
    now: TimestampMs,
) -> Result<ErasureReport, StoreError> {
    let mut record = mark(inner, tenant, requested_by, now)?;
    let partition = keys::tenant_partition(tenant);
    let prefixed: [(&Keyspace, Vec<u8>, Count); 4] = [
        (&inner.readings, partition.clone(), |c, n| c.readings += n),
        (&inner.rollups, partition.clone(), |c, n| c.rollups += n),
        (&inner.room_state, partition.clone(), |c, n| {
            c.room_states += n
        }),
        (&inner.office_owners, partition, |c, n| c.registry += n),
    ];
    for (keyspace, prefix, count) in &prefixed {
        delete_chunks(inner, &mut record, keyspace, *count, || {
            prefix_keys(keyspace, prefix)
        })?;
    }
    delete_chunks(inner, &mut record, &inner.sensor_keys, registry, || {
        sensor_keys_of(inner, tenant)
    })?;
    for prefix in keys::registry_of_tenant(tenant) {
        delete_chunks(inner, &mut record, &inner.registry, registry, || {
            prefix_keys(&inner.registry, &prefix)
        })?;
    }

    let mut left = sensor_keys_of(inner, tenant)?.len();
    for (keyspace, prefix, _) in &prefixed {
        left += prefix_keys(keyspace, prefix)?.len();
    }
    for prefix in keys::registry_of_tenant(tenant) {
        left += prefix_keys(&inner.registry, &prefix)?.len();
    }
    if left > 0 {
        return Err(StoreError::Backend(format!(
            "erasure of tenant {tenant} left {left} keys; call it again"
        )));
    }
    if record.finished_at.is_none() {
        record.finished_at = Some(now);
        save(inner, &record)?;
    }
    Ok(record)
}

/// Adds a number of deleted keys to the right count.
type Count = fn(&mut ErasedCounts, u64);

/// Adds `n` to the registry count.
fn registry(counts: &mut ErasedCounts, n: u64) {
    counts.registry += n;
}

/// The audit record of `tenant`, written now if it is not there yet.
fn mark(
    inner: &Inner,
    tenant: &TenantId,
    requested_by: &str,
    now: TimestampMs,
) -> Result<ErasureReport, StoreError> {
    let _guard = inner.lock();
    if let Some(record) = get(&inner.erasures, &keys::erasure(tenant), "erasure")? {
        return Ok(record);
    }
    let record = ErasureReport {
        tenant: tenant.clone(),
        requested_by: requested_by.to_owned(),
        requested_at: now,
        finished_at: None,
        deleted: ErasedCounts::default(),
    };
    save(inner, &record)?;
    tracing::warn!(tenant = %tenant, requested_by, "tenant marked erased");
    Ok(record)
}

/// Writes the audit record durably.
fn save(inner: &Inner, record: &ErasureReport) -> Result<(), StoreError> {
    let mut batch = inner.durable_batch();
    batch.insert(
        &inner.erasures,
        keys::erasure(&record.tenant),
        encode(record)?,
    );
    inner.commit(batch)
}

/// Deletes the keys `next()` returns until it returns none, one durable batch per chunk that
/// also saves the record with the counts so far.
fn delete_chunks(
    inner: &Inner,
    record: &mut ErasureReport,
    keyspace: &Keyspace,
    count: Count,
    mut next: impl FnMut() -> Result<Vec<Vec<u8>>, StoreError>,
) -> Result<(), StoreError> {
    loop {
        let chunk = next()?;
        if chunk.is_empty() {
            return Ok(());
        }
        count(&mut record.deleted, chunk.len() as u64);
        let mut batch = inner.durable_batch();
        for key in chunk {
            batch.remove(keyspace, key);
        }
        batch.insert(
            &inner.erasures,
            keys::erasure(&record.tenant),
            encode(&*record)?,
        );
        inner.commit(batch)?;
    }
}

/// Up to [`CHUNK`] keys of `keyspace` under `prefix`.
fn prefix_keys(keyspace: &Keyspace, prefix: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
    keyspace
        .prefix(prefix)
        .take(CHUNK)
        .map(|guard| Ok(guard.key().map_err(backend)?.to_vec()))
        .collect()
}

/// Up to [`CHUNK`] key hashes of the tenant's sensors (the keyspace is keyed by hash alone, so
/// this scans it).
fn sensor_keys_of(inner: &Inner, tenant: &TenantId) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut found = Vec::new();
    for guard in inner.sensor_keys.iter() {
        let (key, value) = guard.into_inner().map_err(backend)?;
        let row: SensorKeyRow = decode("sensor key", &value)?;
        if &row.tenant == tenant {
            found.push(key.to_vec());
            if found.len() == CHUNK {
                break;
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{
        EmbeddedStore, RoomState, Store, WriteBatch,
        conformance::support::{fresh_room, reading, room_write, sensor_id},
    };

    /// A crash after the mark and part of the deletes: the next call finishes the job, and the
    /// counts add up to every row once.
    #[tokio::test]
    async fn a_second_call_finishes_an_erasure_interrupted_halfway() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let room = fresh_room(&store).await;
        let tenant = &room.tenant;
        let sensor = sensor_id("s");
        let readings = (1..=3)
            .map(|seq| (sensor.clone(), reading(seq, 0, 1)))
            .collect();
        let write = room_write(&room, readings, RoomState::default(), vec![]);
        store
            .write_batch(Arc::new(WriteBatch { rooms: vec![write] }))
            .await
            .unwrap();

        let inner = &store.inner;
        let mut record = mark(inner, tenant, "ops", 7).unwrap();
        let prefix = keys::tenant_partition(tenant);
        let readings = |c: &mut ErasedCounts, n| c.readings += n;
        delete_chunks(inner, &mut record, &inner.readings, readings, || {
            prefix_keys(&inner.readings, &prefix)
        })
        .unwrap();
        assert_eq!(store.tenant(tenant).await.unwrap(), None, "marked");
        let registry_left = prefix_keys(&inner.registry, &keys::tenant(tenant)).unwrap();
        assert!(!registry_left.is_empty());
        let unfinished = store.erasure(tenant).await.unwrap().unwrap();
        assert_eq!(unfinished.finished_at, None);

        let report = store.erase_tenant(tenant, "later", 9).await.unwrap();
        assert_eq!(
            (report.requested_by.as_str(), report.requested_at),
            ("ops", 7)
        );
        assert_eq!(report.finished_at, Some(9));
        assert_eq!(
            (report.deleted.readings, report.deleted.room_states),
            (3, 1)
        );
        assert_eq!(
            report.deleted.registry, 4,
            "tenant, office, room and its index entry"
        );
    }
}
