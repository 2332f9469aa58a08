//! [`ReadAll`]: whole range reads for tests, paging through a store's bounded reads.

use async_trait::async_trait;
use tally_protocol::{RoomId, SensorId, TenantId};

use crate::{
    Page, PageRequest, Resolution, Rollup, RollupArea, Store, StoreError, StoredReading, TimeRange,
};

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
        every_page(move |page| self.readings(tenant, room, range, page)).await
    }

    async fn all_rollups(
        &self,
        tenant: &TenantId,
        room: &RoomId,
        resolution: Resolution,
        range: TimeRange,
    ) -> Result<Vec<Rollup>, StoreError> {
        every_page(move |page| self.rollups(tenant, room, resolution, range, page)).await
    }

    async fn all_area_rollups(
        &self,
        tenant: &TenantId,
        area: &RollupArea,
        resolution: Resolution,
        range: TimeRange,
    ) -> Result<Vec<Rollup>, StoreError> {
        every_page(move |page| self.area_rollups(tenant, area, resolution, range, page)).await
    }
}

/// Every item of a paged read, following its pages of [`TEST_PAGE`] items from the first.
async fn every_page<T, C, F, Fut>(mut read: F) -> Result<Vec<T>, StoreError>
where
    C: Clone,
    F: FnMut(PageRequest<C>) -> Fut,
    Fut: Future<Output = Result<Page<T, C>, StoreError>>,
{
    let mut all = Vec::new();
    let mut request = Some(PageRequest::first(TEST_PAGE));
    while let Some(page_request) = request {
        let page = read(page_request).await?;
        request = page.next_request(TEST_PAGE);
        all.extend(page.items);
    }
    Ok(all)
}
