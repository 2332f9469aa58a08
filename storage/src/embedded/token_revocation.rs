//! Revoked tokens in the embedded store: the tenant's mark and one registry key per revoked
//! token id (its value: when the token expires). Expired ids are deleted by the next revocation
//! of the tenant.

use tally_protocol::TenantId;

use super::{
    Inner,
    codec::{backend, decode, encode, get},
    keys,
};
use crate::{StoreError, TokenRevocations};

/// Fails with `NotFound` unless the tenant exists (and `Erased` if it was erased).
fn ensure_tenant(inner: &Inner, tenant: &TenantId) -> Result<(), StoreError> {
    inner.ensure_not_erased(tenant)?;
    if !inner
        .registry
        .contains_key(keys::tenant(tenant))
        .map_err(backend)?
    {
        return Err(StoreError::NotFound {
            kind: "tenant",
            id: tenant.to_string(),
        });
    }
    Ok(())
}

/// Raises the tenant's mark to `before` (never lowers it); returns the mark in force.
pub(super) fn revoke_issued_before(
    inner: &Inner,
    tenant: &TenantId,
    before: u64,
) -> Result<u64, StoreError> {
    let _guard = inner.lock();
    ensure_tenant(inner, tenant)?;
    let key = keys::tokens_revoked_before(tenant);
    let stored: Option<u64> = get(&inner.registry, &key, "token revocation mark")?;
    let mark = stored.map_or(before, |stored| stored.max(before));
    if stored != Some(mark) {
        let mut batch = inner.durable_batch();
        batch.insert(&inner.registry, key, encode(&mark)?);
        inner.commit(batch)?;
    }
    Ok(mark)
}

/// Revokes one token id until `expires_at`, deleting the tenant's expired ids in the same batch.
pub(super) fn revoke_token(
    inner: &Inner,
    tenant: &TenantId,
    token_id: &str,
    expires_at: u64,
) -> Result<(), StoreError> {
    let _guard = inner.lock();
    ensure_tenant(inner, tenant)?;
    let mut batch = inner.durable_batch();
    let now = now_secs();
    for (key, expiry) in revoked_ids(inner, tenant)? {
        if expiry <= now {
            batch.remove(&inner.registry, key);
        }
    }
    batch.insert(
        &inner.registry,
        keys::revoked_token(tenant, token_id),
        encode(&expires_at)?,
    );
    inner.commit(batch)
}

/// The tenant's mark and the ids that expire after `now`.
pub(super) fn revocations(
    inner: &Inner,
    tenant: &TenantId,
    now: u64,
) -> Result<TokenRevocations, StoreError> {
    let prefix_len = keys::revoked_tokens(tenant).len();
    let token_ids = revoked_ids(inner, tenant)?
        .into_iter()
        .filter(|(_, expiry)| *expiry > now)
        .map(|(key, _)| {
            // The key is the prefix, the id, then one separator byte.
            String::from_utf8_lossy(&key[prefix_len..key.len() - 1]).into_owned()
        })
        .collect();
    Ok(TokenRevocations {
        issued_before: get(
            &inner.registry,
            &keys::tokens_revoked_before(tenant),
            "token revocation mark",
        )?,
        token_ids,
    })
}

/// Every revoked id's key with its expiry.
fn revoked_ids(inner: &Inner, tenant: &TenantId) -> Result<Vec<(Vec<u8>, u64)>, StoreError> {
    inner
        .registry
        .prefix(keys::revoked_tokens(tenant))
        .map(|guard| {
            let (key, value) = guard.into_inner().map_err(backend)?;
            Ok((key.to_vec(), decode("revoked token", &value)?))
        })
        .collect()
}

/// Seconds since the epoch.
fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
