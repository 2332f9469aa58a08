//! Office calendars in PostgreSQL (`office_calendars`, a tenant table).

use tally_protocol::{OfficeId, TenantId};

use super::{Inner, errors::pg, registry::query};
use crate::{OfficeCalendar, StoreError};

/// Sets an office's calendar.
pub(super) async fn set(
    inner: &Inner,
    tenant: &TenantId,
    office: &OfficeId,
    calendar: &OfficeCalendar,
) -> Result<(), StoreError> {
    let mut client = inner.client().await?;
    let tx = inner.tenant_tx(&mut client, tenant, true).await?;
    let days: Vec<i16> = calendar.work_days.iter().map(|d| i16::from(*d)).collect();
    let written = tx
        .execute(
            "INSERT INTO office_calendars (tenant_id, office_id, time_zone, work_days, \
             work_start, work_end) \
             SELECT tenant_id, office_id, $3, $4, $5, $6 FROM offices \
             WHERE tenant_id = $1 AND office_id = $2 \
             ON CONFLICT (tenant_id, office_id) DO UPDATE SET time_zone = EXCLUDED.time_zone, \
             work_days = EXCLUDED.work_days, work_start = EXCLUDED.work_start, \
             work_end = EXCLUDED.work_end",
            &[
                &tenant.as_str(),
                &office.as_str(),
                &calendar.time_zone,
                &days,
                &calendar.work_start,
                &calendar.work_end,
            ],
        )
        .await
        .map_err(pg)?;
    if written == 0 {
        return Err(StoreError::NotFound {
            kind: "office",
            id: office.to_string(),
        });
    }
    tx.commit().await.map_err(pg)
}

/// An office's calendar.
pub(super) async fn get(
    inner: &Inner,
    tenant: &TenantId,
    office: &OfficeId,
) -> Result<Option<OfficeCalendar>, StoreError> {
    let rows = query(
        inner,
        tenant,
        "SELECT time_zone, work_days, work_start, work_end FROM office_calendars \
         WHERE tenant_id = $1 AND office_id = $2",
        &[&tenant.as_str(), &office.as_str()],
    )
    .await?;
    rows.first()
        .map(|row| {
            let days: Vec<i16> = row.try_get(1).map_err(pg)?;
            Ok(OfficeCalendar {
                time_zone: row.try_get(0).map_err(pg)?,
                work_days: days
                    .into_iter()
                    .map(|d| u8::try_from(d).unwrap_or(u8::MAX))
                    .collect(),
                work_start: row.try_get(2).map_err(pg)?,
                work_end: row.try_get(3).map_err(pg)?,
            })
        })
        .transpose()
}
