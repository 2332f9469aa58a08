//! Erasure of a tenant in PostgreSQL.
//!
//! 1. `begin_erasure()` (owner-owned, SECURITY DEFINER) takes the tenant's advisory lock
//!    exclusively, which waits for the tenant's writes in flight (they hold it shared, see
//!    `enter_tenant()`), and records the erasure in `erasures`, the platform-owned audit table:
//!    from that commit on, `enter_tenant()` reports the tenant erased, so writes are refused and
//!    reads answer empty, and `list_tenants()` and `sensor_by_key_hash()` skip it.
//! 2. One transaction **set to the tenant** (row-level security applies: a bug here cannot
//!    delete another tenant's rows) deletes its rows from every tenant table, children before
//!    parents, and adds the counts to the audit record through `record_erasure()`, so the
//!    counts are exactly what committed.
//! 3. Another transaction set to the tenant counts what is left in every tenant table; only if
//!    nothing is, `record_erasure()` stamps the record finished.
//!
//! A crash anywhere leaves either nothing or all of step 2 committed; calling again resumes.

use tally_protocol::TenantId;
use tokio_postgres::Row;

use super::{
    Inner,
    errors::{backend, corrupt, pg},
};
use crate::{ErasedCounts, ErasureReport, StoreError};

/// Every tenant table, in deletion order (children first), with the count each adds to.
const TABLES: [(&str, Kind); 15] = [
    ("readings", Kind::Readings),
    ("rollups", Kind::Rollups),
    ("office_rollups", Kind::Rollups),
    ("office_rollup_frontiers", Kind::Rollups),
    ("room_state", Kind::RoomStates),
    ("office_owners", Kind::Registry),
    ("retention_overrides", Kind::Registry),
    ("office_calendars", Kind::Registry),
    ("token_revocations", Kind::Registry),
    ("revoked_tokens", Kind::Registry),
    ("sensor_keys", Kind::Registry),
    ("sensors", Kind::Registry),
    ("rooms", Kind::Registry),
    ("offices", Kind::Registry),
    ("tenants", Kind::Registry),
];

/// Which count a table's rows add to.
#[derive(Clone, Copy)]
enum Kind {
    Readings,
    Rollups,
    RoomStates,
    Registry,
}

/// Erases `tenant` (see the module documentation).
pub(super) async fn erase(
    inner: &Inner,
    tenant: &TenantId,
    requested_by: &str,
    now: i64,
) -> Result<ErasureReport, StoreError> {
    let mut client = inner.client().await?;
    let tx = client.transaction().await.map_err(pg)?;
    tx.query_one(
        "SELECT * FROM begin_erasure($1, $2, $3)",
        &[&tenant.as_str(), &requested_by, &now],
    )
    .await
    .map_err(pg)?;
    tx.commit().await.map_err(pg)?;
    tracing::warn!(tenant = %tenant, requested_by, "tenant marked erased");

    let tx = as_tenant(&mut client, tenant).await?;
    let mut counts = ErasedCounts::default();
    for (table, kind) in TABLES {
        let n = tx
            .execute(
                &format!("DELETE FROM {table} WHERE tenant_id = $1"),
                &[&tenant.as_str()],
            )
            .await
            .map_err(pg)?;
        match kind {
            Kind::Readings => counts.readings += n,
            Kind::Rollups => counts.rollups += n,
            Kind::RoomStates => counts.room_states += n,
            Kind::Registry => counts.registry += n,
        }
    }
    record(&tx, tenant, counts, None).await?;
    tx.commit().await.map_err(pg)?;

    let tx = as_tenant(&mut client, tenant).await?;
    let mut left = 0;
    for (table, _) in TABLES {
        let n: i64 = tx
            .query_one(
                &format!("SELECT count(*) FROM {table} WHERE tenant_id = $1"),
                &[&tenant.as_str()],
            )
            .await
            .map_err(pg)?
            .get(0);
        left += n;
    }
    if left > 0 {
        return Err(backend(format!(
            "erasure of tenant {tenant} left {left} rows; call it again"
        )));
    }
    let report = record(&tx, tenant, ErasedCounts::default(), Some(now)).await?;
    tx.commit().await.map_err(pg)?;
    Ok(report)
}

/// The audit record of a tenant's erasure.
pub(super) async fn get(
    inner: &Inner,
    tenant: &TenantId,
) -> Result<Option<ErasureReport>, StoreError> {
    let client = inner.client().await?;
    let row = client
        .query_opt("SELECT * FROM erasure($1)", &[&tenant.as_str()])
        .await
        .map_err(pg)?;
    row.as_ref().map(report).transpose()
}

/// A transaction with `app.tenant` set to `tenant`, without the erasure check (the one place
/// that must reach an erased tenant's rows).
async fn as_tenant<'a>(
    client: &'a mut deadpool_postgres::Object,
    tenant: &TenantId,
) -> Result<deadpool_postgres::Transaction<'a>, StoreError> {
    let tx = client.transaction().await.map_err(pg)?;
    tx.execute(
        "SELECT set_config('app.tenant', $1, true)",
        &[&tenant.as_str()],
    )
    .await
    .map_err(pg)?;
    Ok(tx)
}

/// Adds `counts` to the audit record (and finishes it at `finished_at`).
async fn record(
    tx: &deadpool_postgres::Transaction<'_>,
    tenant: &TenantId,
    counts: ErasedCounts,
    finished_at: Option<i64>,
) -> Result<ErasureReport, StoreError> {
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let row = tx
        .query_one(
            "SELECT * FROM record_erasure($1, $2, $3, $4, $5, $6)",
            &[
                &tenant.as_str(),
                &n(counts.readings),
                &n(counts.rollups),
                &n(counts.room_states),
                &n(counts.registry),
                &finished_at,
            ],
        )
        .await
        .map_err(pg)?;
    report(&row)
}

/// An `erasures` row.
fn report(row: &Row) -> Result<ErasureReport, StoreError> {
    let count = |name: &str| -> Result<u64, StoreError> {
        let value: i64 = row.try_get(name).map_err(pg)?;
        u64::try_from(value).map_err(|_| corrupt(format!("erasure count {name} = {value}")))
    };
    let tenant: String = row.try_get("tenant_id").map_err(pg)?;
    Ok(ErasureReport {
        tenant: TenantId::new(tenant.clone())
            .map_err(|e| corrupt(format!("erased tenant id {tenant:?}: {e}")))?,
        requested_by: row.try_get("requested_by").map_err(pg)?,
        requested_at: row.try_get("requested_at").map_err(pg)?,
        finished_at: row.try_get("finished_at").map_err(pg)?,
        deleted: ErasedCounts {
            readings: count("readings")?,
            rollups: count("rollups")?,
            room_states: count("room_states")?,
            registry: count("registry")?,
        },
    })
}
