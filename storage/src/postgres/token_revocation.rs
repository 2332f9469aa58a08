//! Revoked tokens in PostgreSQL: `token_revocations` (the tenant's mark, raised with
//! `GREATEST`) and `revoked_tokens` (one row per id, expired rows deleted by the next
//! revocation of the tenant); both tenant tables under row-level security.

use tally_protocol::TenantId;

use super::{Inner, errors::pg, registry::query};
use crate::{StoreError, TokenRevocations};

/// `NotFound` for the tenant, when an insert selected no tenant row.
fn missing_tenant(tenant: &TenantId) -> StoreError {
    StoreError::NotFound {
        kind: "tenant",
        id: tenant.to_string(),
    }
}

/// A count of seconds as a `bigint`.
fn secs(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Raises the tenant's mark to `before`; returns the mark in force.
pub(super) async fn revoke_issued_before(
    inner: &Inner,
    tenant: &TenantId,
    before: u64,
) -> Result<u64, StoreError> {
    let mut client = inner.client().await?;
    let tx = inner.tenant_tx(&mut client, tenant, true).await?;
    let rows = tx
        .query(
            "INSERT INTO token_revocations (tenant_id, issued_before) \
             SELECT tenant_id, $2 FROM tenants WHERE tenant_id = $1 \
             ON CONFLICT (tenant_id) DO UPDATE SET issued_before = \
             GREATEST(token_revocations.issued_before, EXCLUDED.issued_before) \
             RETURNING issued_before",
            &[&tenant.as_str(), &secs(before)],
        )
        .await
        .map_err(pg)?;
    let mark: i64 = rows
        .first()
        .ok_or_else(|| missing_tenant(tenant))?
        .try_get(0)
        .map_err(pg)?;
    tx.commit().await.map_err(pg)?;
    Ok(u64::try_from(mark).unwrap_or(0))
}

/// Revokes one token id until `expires_at`, and forgets the tenant's expired ids.
pub(super) async fn revoke_token(
    inner: &Inner,
    tenant: &TenantId,
    token_id: &str,
    expires_at: u64,
) -> Result<(), StoreError> {
    let mut client = inner.client().await?;
    let tx = inner.tenant_tx(&mut client, tenant, true).await?;
    tx.execute(
        "DELETE FROM revoked_tokens WHERE tenant_id = $1 \
         AND expires_at <= extract(epoch FROM now())::bigint",
        &[&tenant.as_str()],
    )
    .await
    .map_err(pg)?;
    let inserted = tx
        .execute(
            "INSERT INTO revoked_tokens (tenant_id, token_id, expires_at) \
             SELECT tenant_id, $2, $3 FROM tenants WHERE tenant_id = $1 \
             ON CONFLICT (tenant_id, token_id) DO UPDATE SET expires_at = \
             GREATEST(revoked_tokens.expires_at, EXCLUDED.expires_at)",
            &[&tenant.as_str(), &token_id, &secs(expires_at)],
        )
        .await
        .map_err(pg)?;
    if inserted == 0 {
        return Err(missing_tenant(tenant));
    }
    tx.commit().await.map_err(pg)
}

/// The tenant's mark and the ids that expire after `now`.
pub(super) async fn revocations(
    inner: &Inner,
    tenant: &TenantId,
    now: u64,
) -> Result<TokenRevocations, StoreError> {
    let rows = query(
        inner,
        tenant,
        "SELECT (SELECT issued_before FROM token_revocations WHERE tenant_id = $1), \
         ARRAY(SELECT token_id FROM revoked_tokens WHERE tenant_id = $1 AND expires_at > $2 \
         ORDER BY token_id)",
        &[&tenant.as_str(), &secs(now)],
    )
    .await?;
    let Some(row) = rows.first() else {
        return Ok(TokenRevocations::default());
    };
    let mark: Option<i64> = row.try_get(0).map_err(pg)?;
    let ids: Vec<String> = row.try_get(1).map_err(pg)?;
    Ok(TokenRevocations {
        issued_before: mark.map(|mark| u64::try_from(mark).unwrap_or(0)),
        token_ids: ids.into_iter().collect(),
    })
}
