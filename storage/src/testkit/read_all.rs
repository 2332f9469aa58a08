//! [`ReadAll`]: whole range reads for tests, paging through a store's bounded reads.

use async_trait::async_trait;
use tally_protocol::{RoomId, SensorId, TenantId};

use crate::{PageRequest, Resolution, Rollup, Store, StoreError, StoredReading, TimeRange};

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
}

#[async_trait]
impl<S: Store + ?Sized> ReadAll for S {
    async fn all_readings(
        &self,
        tenant: &TenantId,
        room: &RoomId,
        range: TimeRange,
    ) -> Result<Vec<(SensorId, StoredReading)>, StoreError> {
        let mut all = Vec::new();
        let mut request = Some(PageRequest::first(TEST_PAGE));
        while let Some(page_request) = request {
            let page = self.readings(tenant, room, range, page_request).await?;
            request = page.next_request(TEST_PAGE);
            all.extend(page.items);
        }
        Ok(all)
    }

    async fn all_rollups(
        &self,
        tenant: &TenantId,
        room: &RoomId,
        resolution: Resolution,
        range: TimeRange,
    ) -> Result<Vec<Rollup>, StoreError> {
        let mut all = Vec::new();
        let mut request = Some(PageRequest::first(TEST_PAGE));
        while let Some(page_request) = request {
            let page = self
                .rollups(tenant, room, resolution, range, page_request)
                .await?;
            request = page.next_request(TEST_PAGE);
            all.extend(page.items);
        }
        Ok(all)
    }
}
