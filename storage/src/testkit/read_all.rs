//! [`ReadAll`]: whole range reads for tests, paging through a store's bounded reads.

use async_trait::async_trait;
use tally_protocol::{RoomId, SensorId, TenantId};

use crate::paging::every_page;
use crate::{Resolution, Rollup, RollupArea, Store, StoreError, StoredReading, TimeRange};

/// Items per page that [`ReadAll`] asks for: small, so that tests page through their rows.
pub const TEST_PAGE: usize = 7;

/// Reads every row of a range by following the pages of [`Store::readings`] and
/// [`Store::rollups`] (tests only: production reads stay bounded).
#[async_trait]
pub trait ReadAll {
    /// Every reading of a room in `range`, in order.
    async fn all_readings(
        &self,
        tenant: &TenantId,
        room: &RoomId,
        range: TimeRange,
    ) -> Result<Vec<(SensorId, StoredReading)>, StoreError>;

    /// Every rollup of a room at `resolution` in `range`, in order.
    async fn all_rollups(
        &self,
        tenant: &TenantId,
        room: &RoomId,
        resolution: Resolution,
        range: TimeRange,
    ) -> Result<Vec<Rollup>, StoreError>;

    /// Every stored rollup of an area (an office, or the tenant) at `resolution` in `range`,
    /// in order.
    async fn all_area_rollups(
        &self,
        tenant: &TenantId,
        area: &RollupArea,
        resolution: Resolution,
        range: TimeRange,
    ) -> Result<Vec<Rollup>, StoreError>;
}

#[async_trait]
impl<S: Store + ?Sized> ReadAll for S {
    async fn all_readings(
        &self,
        tenant: &TenantId,
        room: &RoomId,
        range: TimeRange,
    ) -> Result<Vec<(SensorId, StoredReading)>, StoreError> {
        every_page(TEST_PAGE, move |page| {
            self.readings(tenant, room, range, page)
        })
        .await
    }

    async fn all_rollups(
        &self,
        tenant: &TenantId,
        room: &RoomId,
        resolution: Resolution,
        range: TimeRange,
    ) -> Result<Vec<Rollup>, StoreError> {
        every_page(TEST_PAGE, move |page| {
            self.rollups(tenant, room, resolution, range, page)
        })
        .await
    }

    async fn all_area_rollups(
        &self,
        tenant: &TenantId,
        area: &RollupArea,
        resolution: Resolution,
        range: TimeRange,
    ) -> Result<Vec<Rollup>, StoreError> {
        every_page(TEST_PAGE, move |page| {
            self.area_rollups(tenant, area, resolution, range, page)
        })
        .await
    }
}
