//! Owner tokens in PostgreSQL: minted by `acquire_office` (one upsert that raises the office's
//! row by one), checked by every batch write inside its transaction.
//!
//! A write locks the owner rows of its offices `FOR SHARE` (creating missing ones at 0 first)
//! and holds the locks until it commits; an increment takes the row's exclusive lock. So an
//! increment waits for the writes in flight under the old token, and every write that commits
//! after the increment returned has read the new token: a write with a lower token can never
//! land after a newer owner got its token.

use std::collections::BTreeMap;

use tally_protocol::{OfficeId, TenantId};

use super::{
    Inner,
    errors::{backend, corrupt, pg},
};
use crate::StoreError;

const LOCK_OWNERS: &str = "SELECT office_id, token FROM office_owners \
     WHERE tenant_id = $1 AND office_id = ANY($2) FOR SHARE";
const INSERT_OWNERS: &str = "INSERT INTO office_owners (tenant_id, office_id, token) \
     SELECT $1, o, 0 FROM unnest($2::text[]) o ON CONFLICT DO NOTHING";

/// Checks the lowest token of the batch for each office of `tenant` (already entered in `tx`)
/// against the stored ones, locking them until the transaction ends.
///
/// # Errors
/// [`StoreError::Fenced`] for the first office whose stored token is higher.
pub(super) async fn check(
    tx: &deadpool_postgres::Transaction<'_>,
    tenant: &str,
    tokens: &BTreeMap<&str, u64>,
) -> Result<(), StoreError> {
    let offices: Vec<&str> = tokens.keys().copied().collect();
    let lock = tx.prepare_cached(LOCK_OWNERS).await.map_err(pg)?;
    let mut stored = read(&tx.query(&lock, &[&tenant, &offices]).await.map_err(pg)?)?;
    if stored.len() < offices.len() {
        let missing: Vec<&str> = offices
            .iter()
            .copied()
            .filter(|office| !stored.contains_key(*office))
            .collect();
        let insert = tx.prepare_cached(INSERT_OWNERS).await.map_err(pg)?;
        tx.execute(&insert, &[&tenant, &missing])
            .await
            .map_err(pg)?;
        stored.extend(read(
            &tx.query(&lock, &[&tenant, &missing]).await.map_err(pg)?,
        )?);
    }
    for (office, &token) in tokens {
        let current = stored.get(*office).copied().unwrap_or(0);
        if token < current {
            return Err(StoreError::Fenced {
                tenant: TenantId::new(tenant).map_err(|e| backend(e.to_string()))?,
                office: OfficeId::new(*office).map_err(|e| backend(e.to_string()))?,
                token,
                current,
            });
        }
    }
    Ok(())
}

/// Office → token of owner rows.
fn read(rows: &[tokio_postgres::Row]) -> Result<BTreeMap<String, u64>, StoreError> {
    rows.iter()
        .map(|row| {
            let token: i64 = row.try_get(1).map_err(pg)?;
            Ok((
                row.try_get(0).map_err(pg)?,
                u64::try_from(token).map_err(|_| corrupt(format!("owner token {token}")))?,
            ))
        })
        .collect()
}

/// Raises the office's owner token by one (from 0) and returns it.
pub(super) async fn acquire_office(
    inner: &Inner,
    tenant: &TenantId,
    office: &OfficeId,
) -> Result<u64, StoreError> {
    let mut client = inner.client().await?;
    let tx = inner.tenant_tx(&mut client, tenant, true).await?;
    let token: i64 = tx
        .query_one(
            "INSERT INTO office_owners (tenant_id, office_id, token) VALUES ($1, $2, 1) \
             ON CONFLICT (tenant_id, office_id) DO UPDATE SET token = office_owners.token + 1 \
             RETURNING token",
            &[&tenant.as_str(), &office.as_str()],
        )
        .await
        .map_err(pg)?
        .get(0);
    tx.commit().await.map_err(pg)?;
    u64::try_from(token).map_err(|_| corrupt(format!("owner token {token}")))
}
