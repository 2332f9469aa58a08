//! The audit log in the embedded store: keyspace `audit`, one key per entry (`e`, the scope,
//! the id, so a scope's entries are one key range in time order) and one per entry in the
//! expiry index (`x`, its `keep_until`, the scope, the id), so a retention sweep deletes
//! expired entries with one range scan instead of reading every entry.

use tally_protocol::TimestampMs;

use super::{
    Inner,
    codec::{backend, decode, encode},
    keys::encode_ts,
};
use crate::{
    AuditEntry, AuditPage, AuditScope, Page, PageRequest, StoreError, TimeRange, audit::page_bounds,
};

/// Ends the scope in a key; never part of a scope key.
const SEP: u8 = 0;

/// The key of a scope's entry with id `id` (an id bound for range reads).
fn entry_key(scope: &str, id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(2 + scope.len() + id.len());
    key.push(b'e');
    key.extend_from_slice(scope.as_bytes());
    key.push(SEP);
    key.extend_from_slice(id.as_bytes());
    key
}

/// The expiry-index key of an entry.
fn expiry_key(keep_until: TimestampMs, scope: &str, id: &str) -> Vec<u8> {
    let mut key = vec![b'x'];
    key.extend_from_slice(&encode_ts(keep_until));
    key.extend_from_slice(&entry_key(scope, id));
    key
}

/// Appends `entry` and its expiry-index key in one durable batch.
pub(super) fn append(inner: &Inner, entry: &AuditEntry) -> Result<(), StoreError> {
    let scope = entry.scope();
    let mut batch = inner.durable_batch();
    batch.insert(
        &inner.audit,
        entry_key(scope.key(), &entry.id),
        encode(entry)?,
    );
    batch.insert(
        &inner.audit,
        expiry_key(entry.keep_until, scope.key(), &entry.id),
        [],
    );
    inner.commit(batch)
}

/// One page of a scope's entries in `range`, newest first.
pub(super) fn page(
    inner: &Inner,
    scope: &AuditScope,
    range: TimeRange,
    page: &PageRequest<String>,
) -> Result<AuditPage, StoreError> {
    let (low, high) = page_bounds(range, page.after.as_deref());
    let (start, end) = (entry_key(scope.key(), &low), entry_key(scope.key(), &high));
    if start >= end {
        return Ok(Page::default());
    }
    let limit = page.clamped_limit();
    let fetched = inner
        .audit
        .range(start..end)
        .rev()
        .take(limit + 1)
        .map(|guard| {
            let (_, value) = guard.into_inner().map_err(backend)?;
            decode::<AuditEntry>("audit entry", &value)
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Page::from_fetched(fetched, limit, |entry| entry.id.clone()))
}

/// Deletes every entry whose `keep_until` is not after `now`; returns how many.
pub(super) fn expire(inner: &Inner, now: TimestampMs) -> Result<u64, StoreError> {
    let end = {
        let mut key = vec![b'x'];
        key.extend_from_slice(&encode_ts(now.saturating_add(1)));
        key
    };
    let mut deleted = 0;
    loop {
        let chunk = inner
            .audit
            .range(vec![b'x']..end.clone())
            .take(super::retention::CHUNK)
            .map(|guard| guard.key().map_err(backend))
            .collect::<Result<Vec<_>, StoreError>>()?;
        if chunk.is_empty() {
            return Ok(deleted);
        }
        let mut batch = inner.durable_batch();
        for key in &chunk {
            // The entry's key follows the `x` and the 8 bytes of its expiry.
            batch.remove(&inner.audit, key[9..].to_vec());
            batch.remove(&inner.audit, key.clone());
        }
        inner.commit(batch)?;
        deleted += chunk.len() as u64;
    }
}
