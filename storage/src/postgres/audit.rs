//! The audit log in PostgreSQL (migration 7): `audit_log`, keyed by `(scope, id)`, under
//! row-level security like every tenant table (a transaction set to the scope: the tenant's id,
//! or `@platform`). The runtime role may only select and insert; expired entries are deleted by
//! `expire_audit()` (SECURITY DEFINER) from the retention sweep.

use tally_protocol::{TenantId, TimestampMs};
use tokio_postgres::Row;

use super::{Inner, errors::pg};
use crate::{
    AuditEntry, AuditOutcome, AuditPage, AuditScope, Page, PageRequest, StoreError, TimeRange,
    audit::page_bounds,
};

/// Begins a transaction on `client` set to `scope` (`app.tenant`, until it ends). Unlike a
/// tenant transaction this takes no tenant lock and no erasure check: an erased tenant's log
/// still takes entries until they expire.
async fn scope_tx<'a>(
    client: &'a mut deadpool_postgres::Object,
    scope: &AuditScope,
) -> Result<deadpool_postgres::Transaction<'a>, StoreError> {
    let tx = client.transaction().await.map_err(pg)?;
    tx.execute("SELECT set_config('app.tenant', $1, true)", &[&scope.key()])
        .await
        .map_err(pg)?;
    Ok(tx)
}

/// Appends an entry (a second append of the same id changes nothing).
pub(super) async fn append(inner: &Inner, entry: &AuditEntry) -> Result<(), StoreError> {
    let mut client = inner.client().await?;
    let scope = entry.scope();
    let tx = scope_tx(&mut client, &scope).await?;
    tx.execute(
        "INSERT INTO audit_log (scope, id, tenant_id, at, kind, principal, source, request_id, \
         outcome, detail, keep_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (scope, id) DO NOTHING",
        &[
            &scope.key(),
            &entry.id,
            &entry.tenant.as_ref().map(TenantId::as_str),
            &entry.at,
            &entry.kind,
            &entry.principal,
            &entry.source,
            &entry.request_id,
            &entry.outcome.as_str(),
            &entry.detail,
            &entry.keep_until,
        ],
    )
    .await
    .map_err(pg)?;
    tx.commit().await.map_err(pg)
}

/// One page of a scope's entries in `range`, newest first.
pub(super) async fn page(
    inner: &Inner,
    scope: &AuditScope,
    range: TimeRange,
    page: &PageRequest<String>,
) -> Result<AuditPage, StoreError> {
    let (low, high) = page_bounds(range, page.after.as_deref());
    if low >= high {
        return Ok(Page::default());
    }
    let limit = page.clamped_limit();
    let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
    let mut client = inner.client().await?;
    let tx = scope_tx(&mut client, scope).await?;
    let rows = tx
        .query(
            "SELECT id, tenant_id, at, kind, principal, source, request_id, outcome, detail, \
             keep_until FROM audit_log WHERE scope = $1 AND id >= $2 AND id < $3 \
             ORDER BY id DESC LIMIT $4",
            &[&scope.key(), &low, &high, &fetch],
        )
        .await
        .map_err(pg)?;
    tx.commit().await.map_err(pg)?;
    let entries = rows.iter().map(entry_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_fetched(entries, limit, |entry| entry.id.clone()))
}

/// An entry from its row.
fn entry_row(row: &Row) -> Result<AuditEntry, StoreError> {
    let tenant: Option<String> = row.try_get(1).map_err(pg)?;
    let outcome: String = row.try_get(7).map_err(pg)?;
    Ok(AuditEntry {
        id: row.try_get(0).map_err(pg)?,
        tenant: tenant
            .map(TenantId::new)
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("audit entry tenant: {e}")))?,
        at: row.try_get(2).map_err(pg)?,
        kind: row.try_get(3).map_err(pg)?,
        principal: row.try_get(4).map_err(pg)?,
        source: row.try_get(5).map_err(pg)?,
        request_id: row.try_get(6).map_err(pg)?,
        outcome: AuditOutcome::parse(&outcome)
            .ok_or_else(|| StoreError::Corrupt(format!("audit entry outcome {outcome:?}")))?,
        detail: row.try_get(8).map_err(pg)?,
        keep_until: row.try_get(9).map_err(pg)?,
    })
}

/// Deletes every entry whose `keep_until` is not after `now`; returns how many.
pub(super) async fn expire(inner: &Inner, now: TimestampMs) -> Result<u64, StoreError> {
    let client = inner.client().await?;
    let deleted: i64 = client
        .query_one("SELECT expire_audit($1)", &[&now])
        .await
        .map_err(pg)?
        .get(0);
    Ok(u64::try_from(deleted).unwrap_or(0))
}
