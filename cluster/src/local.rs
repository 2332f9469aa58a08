//! The single-node router: every office lives on this node.

use async_trait::async_trait;
use ractor::ActorRef;
use tally_actors::{NodeHandle, OfficeMsg, RoomMsg, ServiceError};
use tally_protocol::{OfficeId, RoomId, TenantId};
use tally_storage::Room;

use crate::Router;

/// Routes everything to this node's actors.
#[derive(Debug, Clone)]
pub struct LocalRouter {
    node: NodeHandle,
}

impl LocalRouter {
    /// A router over this node's actors.
    pub fn new(node: NodeHandle) -> Self {
        Self { node }
    }
}

#[async_trait]
impl Router for LocalRouter {
    async fn office(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
    ) -> Result<ActorRef<OfficeMsg>, ServiceError> {
        self.node.office(tenant, office).await
    }

    async fn room(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
        room: &RoomId,
    ) -> Result<ActorRef<RoomMsg>, ServiceError> {
        self.node.room(tenant, office, room).await
    }

    fn room_created(&self, room: Room) {
        self.node.room_created(room);
    }

    async fn release_tenant(&self, tenant: &TenantId) -> Result<bool, ServiceError> {
        self.node.release(tenant).await
    }
}
