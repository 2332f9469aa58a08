//! [`await_area_frontier_past`]: a test's wait for an area's finaliser to pass an instant.

use std::time::Duration;

use tally_protocol::{TenantId, TimestampMs};

use crate::{RollupArea, RollupFrontier, Store};

/// How often the store is read while waiting.
const POLL: Duration = Duration::from_millis(50);

/// Waits until the stored rollup frontier of `area` passes `ts` and answers it. The store
/// tells nobody of a write, so it is read every 50 ms for as long as it takes: a frontier that
/// never passes keeps the caller waiting, and the test run's own bound fails it.
///
/// # Panics
/// If the store fails.
pub async fn await_area_frontier_past(
    store: &dyn Store,
    tenant: &TenantId,
    area: &RollupArea,
    ts: TimestampMs,
) -> RollupFrontier {
    loop {
        let stored = store.area_rollup_frontier(tenant, area).await.unwrap();
        if let Some(frontier) = stored.filter(|frontier| frontier.to > ts) {
            return frontier;
        }
        tokio::time::sleep(POLL).await;
    }
}
