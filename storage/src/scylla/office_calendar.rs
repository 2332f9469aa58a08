//! Office calendars in ScyllaDB: `office_calendars`, partitioned by tenant like the offices, the
//! calendar as MessagePack (read and written whole).

use tally_protocol::{OfficeId, TenantId};

use super::ScyllaStore;
use crate::embedded::codec::{decode, encode};
use crate::{OfficeCalendar, StoreError};

impl ScyllaStore {
    /// See [`crate::Store::set_office_calendar`].
    pub(super) async fn set_office_calendar(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
        calendar: &OfficeCalendar,
    ) -> Result<(), StoreError> {
        self.ensure_not_erased(tenant).await?;
        if self.office(tenant, office).await?.is_none() {
            return Err(StoreError::NotFound {
                kind: "office",
                id: office.to_string(),
            });
        }
        let encoded = encode(calendar)?;
        self.execute(
            &self.statements.insert_office_calendar,
            (tenant.as_str(), office.as_str(), encoded),
        )
        .await
    }

    /// See [`crate::Store::office_calendar`].
    pub(super) async fn office_calendar(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
    ) -> Result<Option<OfficeCalendar>, StoreError> {
        let row: Option<(Vec<u8>,)> = self
            .first_row(
                &self.statements.select_office_calendar,
                (tenant.as_str(), office.as_str()),
            )
            .await?;
        row.map(|(bytes,)| decode("office calendar", &bytes))
            .transpose()
    }

    /// How many offices of the tenant have a calendar (erasure counts and verifies with it).
    pub(super) async fn office_calendar_count(
        &self,
        tenant: &TenantId,
    ) -> Result<usize, StoreError> {
        let rows: Vec<(String,)> = self
            .rows(&self.statements.select_office_calendars, (tenant.as_str(),))
            .await?;
        Ok(rows.len())
    }
}
