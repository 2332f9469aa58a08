//! [`ClusterRouter`]: routes `(tenant, office)` to its owner in the cluster: this node's own
//! actors, activated under a claim, or the owner node through the transport.
//!
//! - `owned.rs`: the offices this node owns: single-flight claims (lease, then store token),
//!   activation with the token, handoff (passivate, then release) and forgetting; also what
//!   the transport serves peers (only owned offices).
//! - `keeper.rs`: a held office's lease, and why a Redis outage does not passivate it.
//! - `rebalance.rs`: handoffs when the view moves offices away, and offices that stopped by
//!   themselves (fenced, failed).
//! - `anchors.rs`: a tenant's anchor office called for by its other offices, activated where
//!   it is owned (the tenant's rollups advance while any of its offices is active).

mod anchors;
mod keeper;
mod owned;
mod rebalance;
pub mod telemetry;

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use tally_protocol::{OfficeId, RoomId, ServiceError, TenantId};
use tally_storage::Room;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::debug;

pub(crate) use owned::{HandoffReason, OwnedOffices};

use crate::{OfficeHandle, RoomHandle, Router, ServedOffices, Transport};

/// The router of a cluster node: placement ([`crate::placement::owner`] over the current view,
/// for this node's region) decides who serves an office; this node activates only the offices
/// it owns, each under a claim, and reaches the others through the transport.
#[derive(Debug)]
pub struct ClusterRouter {
    owned: OwnedOffices,
    transport: Arc<Transport>,
    tasks: Vec<JoinHandle<()>>,
}

impl ClusterRouter {
    /// Starts routing: `owned` for offices this node owns (what `transport` serves peers too),
    /// `transport` for the others; hands offices off as the view moves them.
    pub(crate) fn start(owned: OwnedOffices, transport: Arc<Transport>) -> Self {
        let tasks = vec![
            rebalance::follow_view(owned.clone()),
            rebalance::follow_stops(owned.clone()),
            anchors::follow_anchors(owned.clone(), transport.clone()),
        ];
        Self {
            owned,
            transport,
            tasks,
        }
    }

    /// The membership view this router places offices by; `changed()` wakes on every change.
    pub fn view(&self) -> watch::Receiver<crate::membership::ClusterView> {
        self.owned.view.clone()
    }

    /// How many offices this node holds now; `changed()` wakes on every change.
    pub fn held(&self) -> watch::Receiver<usize> {
        self.owned.held()
    }

    /// Stops taking offices and hands every held one off, one by one (passivate, release);
    /// returns once none is held.
    pub async fn drain(&self) {
        self.owned.start_draining();
        rebalance::hand_off_moved(&self.owned).await;
        let mut held = self.owned.held();
        let _ = held.wait_for(|held| *held == 0).await;
    }

    /// Hands every held office off and stops following the view (the node stops).
    pub(crate) async fn stop(&self) {
        self.owned.start_draining();
        for task in &self.tasks {
            task.abort();
        }
        for key in self.owned.known() {
            self.owned.hand_off(&key, HandoffReason::Shutdown).await;
        }
    }

    /// The owner of `office`: `Ok(None)` if it is this node.
    fn remote_owner(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
    ) -> Result<Option<String>, ServiceError> {
        remote_owner(&self.owned, tenant, office)
    }
}

/// The owner of `office` placement names: `Ok(None)` if it is this node.
fn remote_owner(
    owned: &OwnedOffices,
    tenant: &TenantId,
    office: &OfficeId,
) -> Result<Option<String>, ServiceError> {
    let owner = owned.owner(tenant, office).ok_or_else(|| {
        ServiceError::Unavailable(format!(
            "no active node serves region {} now; connect again",
            owned.region
        ))
    })?;
    if owner.id == owned.node_id {
        return Ok(None);
    }
    debug!(tenant = %tenant, office = %office, owner = %owner.id, epoch = owner.epoch,
           decision = "forward", "placement");
    Ok(Some(owner.id))
}

/// The handle of `office` on its owner: claimed and activated here if placement names this
/// node, else opened on the owner through `transport` (which activates it there).
async fn open_office(
    owned: &OwnedOffices,
    transport: &Transport,
    tenant: &TenantId,
    office: &OfficeId,
) -> Result<OfficeHandle, ServiceError> {
    match remote_owner(owned, tenant, office)? {
        None => ServedOffices::office(owned, tenant, office).await,
        Some(owner) => transport.office(&owner, tenant, office).await,
    }
}

impl Drop for ClusterRouter {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

#[async_trait]
impl Router for ClusterRouter {
    async fn office(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
    ) -> Result<OfficeHandle, ServiceError> {
        open_office(&self.owned, &self.transport, tenant, office).await
    }

    async fn room(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
        room: &RoomId,
    ) -> Result<RoomHandle, ServiceError> {
        match self.remote_owner(tenant, office)? {
            None => ServedOffices::room(&self.owned, tenant, office, room).await,
            Some(owner) => self.transport.room(&owner, tenant, office, room).await,
        }
    }

    fn room_created(&self, room: Room) {
        // The owner's office starts it now (and finds it anyway when first asked for it).
        match self.remote_owner(&room.tenant, &room.office) {
            Ok(None) => self.owned.actors.room_created(room),
            Ok(Some(owner)) => {
                if let Err(err) = self.transport.room_created(&owner, room) {
                    debug!(%owner, %err, "room_created not forwarded");
                }
            }
            Err(_) => {}
        }
    }

    async fn quarantined(&self) -> Result<BTreeSet<TenantId>, ServiceError> {
        self.owned.local.quarantined().await
    }

    async fn release_tenant(&self, tenant: &TenantId) -> Result<bool, ServiceError> {
        self.owned.local.release_tenant(tenant).await
    }

    async fn retire_tenant(&self, tenant: &TenantId) -> Result<(), ServiceError> {
        self.owned.local.retire_tenant(tenant).await
    }
}
