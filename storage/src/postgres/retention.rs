//! Retention in PostgreSQL: per-tenant overrides (`retention_overrides`, a tenant table) and
//! sweeps.
//!
//! A sweep reads every tenant's policy (each in a transaction set to that tenant), drops the
//! readings day partitions whose whole day is older than the longest readings retention of any
//! tenant and of the defaults (`drop_readings_partition()`, one transaction per partition, so the
//! brief lock on the parent table is held once per day dropped), then deletes per tenant what
//! is older than its own policy in the remaining partitions, the default partition, `rollups`
//! and `office_rollups` (each resolution by its own retention, as the embedded store does). A
//! policy set while a sweep runs applies from the next sweep.

use std::time::Duration;

use tally_protocol::TenantId;

use super::{
    Inner,
    data::resolution_name,
    errors::{backend, pg},
    registry::{query, tenants},
    rollup_rows::ROLLUP_TABLES,
};
use crate::{RetentionPolicy, RetentionReport, StoreError, retention::RESOLUTIONS};

/// Milliseconds in a UTC day.
const DAY_MS: i64 = 86_400_000;

/// Sets or clears a tenant's own policy.
pub(super) async fn set(
    inner: &Inner,
    tenant: &TenantId,
    policy: Option<&RetentionPolicy>,
) -> Result<(), StoreError> {
    let mut client = inner.client().await?;
    let tx = inner.tenant_tx(&mut client, tenant, true).await?;
    match policy {
        Some(policy) => {
            let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
            let inserted = tx
                .execute(
                    "INSERT INTO retention_overrides (tenant_id, readings_ms, minute_ms, \
                     fifteen_minutes_ms, hour_ms, day_ms) \
                     SELECT tenant_id, $2, $3, $4, $5, $6 FROM tenants WHERE tenant_id = $1 \
                     ON CONFLICT (tenant_id) DO UPDATE SET readings_ms = EXCLUDED.readings_ms, \
                     minute_ms = EXCLUDED.minute_ms, \
                     fifteen_minutes_ms = EXCLUDED.fifteen_minutes_ms, \
                     hour_ms = EXCLUDED.hour_ms, day_ms = EXCLUDED.day_ms",
                    &[
                        &tenant.as_str(),
                        &ms(policy.readings),
                        &ms(policy.minute),
                        &ms(policy.fifteen_minutes),
                        &ms(policy.hour),
                        &ms(policy.day),
                    ],
                )
                .await
                .map_err(pg)?;
            if inserted == 0 {
                return Err(StoreError::NotFound {
                    kind: "tenant",
                    id: tenant.to_string(),
                });
            }
        }
        None => {
            tx.execute(
                "DELETE FROM retention_overrides WHERE tenant_id = $1",
                &[&tenant.as_str()],
            )
            .await
            .map_err(pg)?;
        }
    }
    tx.commit().await.map_err(pg)
}

/// A tenant's own policy.
pub(super) async fn get(
    inner: &Inner,
    tenant: &TenantId,
) -> Result<Option<RetentionPolicy>, StoreError> {
    let rows = query(
        inner,
        tenant,
        "SELECT readings_ms, minute_ms, fifteen_minutes_ms, hour_ms, day_ms \
         FROM retention_overrides WHERE tenant_id = $1",
        &[&tenant.as_str()],
    )
    .await?;
    rows.first()
        .map(|row| {
            let ms = |i: usize| -> Result<Duration, StoreError> {
                let value: i64 = row.try_get(i).map_err(pg)?;
                Ok(Duration::from_millis(u64::try_from(value).unwrap_or(0)))
            };
            Ok(RetentionPolicy {
                readings: ms(0)?,
                minute: ms(1)?,
                fifteen_minutes: ms(2)?,
                hour: ms(3)?,
                day: ms(4)?,
            })
        })
        .transpose()
}

/// One sweep (see the module documentation).
pub(super) async fn apply(
    inner: &Inner,
    defaults: &RetentionPolicy,
    now: i64,
) -> Result<RetentionReport, StoreError> {
    let mut report = RetentionReport::default();
    let mut policies = Vec::new();
    for tenant in tenants(inner).await? {
        let policy = get(inner, &tenant.id).await?.unwrap_or(*defaults);
        policies.push((tenant.id, policy));
    }
    let longest = policies
        .iter()
        .map(|(_, policy)| policy.readings)
        .chain([defaults.readings])
        .max()
        .unwrap_or(defaults.readings);
    let cutoff = RetentionPolicy::cutoff(now, longest);
    drop_partitions(inner, cutoff, &mut report).await?;

    for (tenant, policy) in policies {
        let mut client = inner.client().await?;
        let tx = match inner.tenant_tx(&mut client, &tenant, false).await {
            Err(StoreError::Erased(_)) => continue,
            other => other?,
        };
        report.readings += tx
            .execute(
                "DELETE FROM readings WHERE tenant_id = $1 AND ts < $2",
                &[
                    &tenant.as_str(),
                    &RetentionPolicy::cutoff(now, policy.readings),
                ],
            )
            .await
            .map_err(pg)?;
        for (table, resolution) in ROLLUP_TABLES
            .iter()
            .flat_map(|table| RESOLUTIONS.map(|resolution| (table.name, resolution)))
        {
            report.rollups += tx
                .execute(
                    &format!(
                        "DELETE FROM {table} WHERE tenant_id = $1 AND resolution = $2 \
                         AND bucket_start < $3"
                    ),
                    &[
                        &tenant.as_str(),
                        &resolution_name(resolution),
                        &RetentionPolicy::cutoff(now, policy.rollups(resolution.analytics())),
                    ],
                )
                .await
                .map_err(pg)?;
        }
        tx.commit().await.map_err(pg)?;
        report.tenants += 1;
    }
    report.audit_entries = super::audit::expire(inner, now).await?;
    Ok(report)
}

/// Drops every readings day partition that ends at or before `cutoff`.
async fn drop_partitions(
    inner: &Inner,
    cutoff: i64,
    report: &mut RetentionReport,
) -> Result<(), StoreError> {
    let mut client = inner.client().await?;
    let days: Vec<i64> = client
        .query("SELECT readings_partition_days()", &[])
        .await
        .map_err(pg)?
        .iter()
        .map(|row| row.get(0))
        .collect();
    for day in days
        .into_iter()
        .filter(|day| day.saturating_add(DAY_MS) <= cutoff)
    {
        let tx = client.transaction().await.map_err(pg)?;
        let rows: Option<i64> = tx
            .query_one("SELECT drop_readings_partition($1)", &[&day])
            .await
            .map_err(pg)?
            .get(0);
        tx.commit().await.map_err(pg)?;
        inner.partitions.forget(day);
        if let Some(rows) = rows {
            report.partitions_dropped += 1;
            report.readings += u64::try_from(rows)
                .map_err(|_| backend(format!("partition of day {day} held {rows} rows")))?;
            tracing::info!(
                day_start = day,
                rows,
                "dropped readings partition (retention)"
            );
        }
    }
    Ok(())
}
