//! The single-node router: every office lives on this node.

use std::collections::BTreeSet;

use async_trait::async_trait;
use tally_actors::NodeHandle;
use tally_protocol::{OfficeId, RoomId, ServiceError, TenantId};
use tally_storage::{Room, SharedStore};

use crate::retired::RetiredTenants;
use crate::{OfficeHandle, RoomHandle, Router};

/// Routes everything to this node's actors.
#[derive(Debug, Clone)]
pub struct LocalRouter {
    node: NodeHandle,
    store: SharedStore,
    retired: RetiredTenants,
}

impl LocalRouter {
    /// A router over this node's actors and store.
    pub fn new(node: NodeHandle, store: SharedStore) -> Self {
        Self {
            node,
            store,
            retired: RetiredTenants::default(),
        }
    }
}

#[async_trait]
impl Router for LocalRouter {
    async fn office(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
    ) -> Result<OfficeHandle, ServiceError> {
        let actor = self.node.office(tenant, office).await?;
        Ok(OfficeHandle::local(
            actor,
            self.node.settings().call_timeout,
        ))
    }

    async fn room(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
        room: &RoomId,
    ) -> Result<RoomHandle, ServiceError> {
        let actor = self.node.room(tenant, office, room).await?;
        Ok(RoomHandle::local(
            actor,
            tenant.clone(),
            room.clone(),
            self.store.clone(),
            self.retired.clone(),
            self.node.settings().call_timeout,
        ))
    }

    fn room_created(&self, room: Room) {
        self.node.room_created(room);
    }

    async fn quarantined(&self) -> Result<BTreeSet<TenantId>, ServiceError> {
        self.node.quarantined().await
    }

    async fn release_tenant(&self, tenant: &TenantId) -> Result<bool, ServiceError> {
        self.node.release(tenant).await
    }

    async fn retire_tenant(&self, tenant: &TenantId) -> Result<(), ServiceError> {
        // Open connections of the tenant close at once; then its actors stop.
        self.retired.retire(tenant);
        self.node.retire_tenant(tenant).await
    }
}
