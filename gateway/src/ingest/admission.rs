//! Admission of readings into the actors, one place for the WebSocket and HTTP paths.
//!
//! ractor mailboxes are unbounded, so work is bounded here: every batch first takes one permit
//! per reading from its tenant's share (`quotas.max_inflight`), then from the node-wide bound
//! (`ingest.node_inflight`), both in [`NodeAdmission`], and gives them back when its room
//! answers. A tenant waiting for its share holds none of the node's permits, so one flooding
//! tenant cannot take the whole window from the others. A WebSocket connection also keeps at most `ingest.inflight_window`
//! readings unacknowledged ([`InflightWindow`]); an HTTP request holds one batch. Past either
//! bound the caller waits: the socket is not read, and TCP pushes back.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tally_cluster::RoomHandle;
use tally_protocol::{Reading, SensorId, ServiceError, TenantId, now_ms};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The bounds on readings admitted and not yet acknowledged: node-wide and per tenant.
#[derive(Debug, Clone)]
pub(crate) struct NodeAdmission {
    node: Arc<Semaphore>,
    tenant_share: usize,
    /// One semaphore per tenant that has sent readings (tenants are few and registered).
    tenants: Arc<Mutex<HashMap<TenantId, Arc<Semaphore>>>>,
}

/// Readings admitted into the node; their share of both bounds returns when this is dropped.
#[derive(Debug)]
pub(crate) struct Admitted {
    _node: OwnedSemaphorePermit,
    _tenant: OwnedSemaphorePermit,
}

impl NodeAdmission {
    /// A bound of `node_readings` in flight across the node, `tenant_readings` per tenant.
    pub(crate) fn new(node_readings: u32, tenant_readings: u32) -> Self {
        Self {
            node: Arc::new(Semaphore::new(node_readings as usize)),
            tenant_share: tenant_readings.min(node_readings) as usize,
            tenants: Arc::default(),
        }
    }

    /// Waits until `readings` more of `tenant` may enter the node: first within the tenant's
    /// share, then within the node's bound.
    ///
    /// # Cancel safety
    /// Cancel safe: nothing is admitted unless this returns.
    pub(crate) async fn admit(&self, tenant: &TenantId, readings: usize) -> Admitted {
        let share = self.share_of(tenant);
        let tenant = acquire(share, readings).await;
        let node = acquire(self.node.clone(), readings).await;
        Admitted {
            _node: node,
            _tenant: tenant,
        }
    }

    fn share_of(&self, tenant: &TenantId) -> Arc<Semaphore> {
        let mut tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        tenants
            .entry(tenant.clone())
            .or_insert_with(|| Arc::new(Semaphore::new(self.tenant_share)))
            .clone()
    }
}

async fn acquire(semaphore: Arc<Semaphore>, readings: usize) -> OwnedSemaphorePermit {
    let wanted = u32::try_from(readings).unwrap_or(u32::MAX);
    semaphore
        .acquire_many_owned(wanted)
        .await
        .expect("admission semaphores are never closed")
}

/// Readings one connection has sent and not yet had acknowledged, against its window.
#[derive(Debug)]
pub(crate) struct InflightWindow {
    limit: usize,
    inflight: usize,
}

impl InflightWindow {
    /// A window of `limit` readings.
    pub(crate) fn new(limit: u32) -> Self {
        Self {
            limit: limit as usize,
            inflight: 0,
        }
    }

    /// Whether the connection may read another frame.
    pub(crate) fn is_open(&self) -> bool {
        self.inflight < self.limit
    }

    /// `readings` were sent to the room.
    pub(crate) fn sent(&mut self, readings: usize) {
        self.inflight += readings;
    }

    /// `readings` were answered (acknowledged or failed).
    pub(crate) fn answered(&mut self, readings: usize) {
        self.inflight -= readings;
    }
}

/// Sends an admitted batch to its room now (so one connection's batches keep their order) and
/// returns the future of its ack, which holds the batch's admission until the room answers.
///
/// # Errors
/// [`ServiceError::Unavailable`] if the room is not running.
pub(crate) fn dispatch(
    room: &RoomHandle,
    sensor: SensorId,
    items: Vec<Reading>,
    admitted: Admitted,
) -> Result<impl Future<Output = Result<u64, ServiceError>> + Send + 'static, ServiceError> {
    let pending = room.send(sensor, items, now_ms())?;
    Ok(async move {
        let answer = pending.durable().await;
        drop(admitted);
        answer
    })
}

#[cfg(test)]
mod tests {
    use futures::FutureExt;

    use super::*;

    #[tokio::test]
    async fn a_tenant_past_its_share_waits_and_leaves_the_node_to_others() {
        let admission = NodeAdmission::new(10, 4);
        let tenant = |id: &str| TenantId::new(id).unwrap();
        let held = admission.admit(&tenant("a"), 4).await;
        assert!(
            admission.admit(&tenant("a"), 1).now_or_never().is_none(),
            "a's share is taken"
        );
        let b = admission
            .admit(&tenant("b"), 4)
            .now_or_never()
            .expect("b has its own share");
        assert!(
            admission.admit(&tenant("c"), 3).now_or_never().is_none(),
            "the node-wide bound still holds"
        );
        let c = admission.admit(&tenant("c"), 2).now_or_never();
        assert!(c.is_some(), "the rest of the node is c's");
        drop(held);
        let again = admission.admit(&tenant("a"), 4).now_or_never();
        assert!(again.is_some(), "a's readings answered give its share back");
        drop((b, c, again));
    }
}
