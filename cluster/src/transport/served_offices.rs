//! [`ServedOffices`]: what a node's endpoint serves its peers from.

use async_trait::async_trait;
use tally_protocol::{OfficeId, RoomId, ServiceError, TenantId};
use tally_storage::Room;

use crate::{LocalRouter, OfficeHandle, RoomHandle, Router};

/// The rooms and offices a node serves to its peers: only those it owns. A single node (and the
/// transport's own tests) serve every office of their actors ([`LocalRouter`]); a cluster node
/// serves an office only while it owns it, under a claim, and answers
/// [`ServiceError::Unavailable`] for any other, so that a forwarder with a stale view fails and
/// its sensor reconnects.
#[async_trait]
pub trait ServedOffices: Send + Sync + std::fmt::Debug + 'static {
    /// The handle of a room of an office this node owns.
    ///
    /// # Errors
    /// [`ServiceError::Unavailable`] if this node does not own the office, or the owner's error.
    async fn room(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
        room: &RoomId,
    ) -> Result<RoomHandle, ServiceError>;

    /// The handle of an office this node owns.
    ///
    /// # Errors
    /// As [`ServedOffices::room`].
    async fn office(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
    ) -> Result<OfficeHandle, ServiceError>;

    /// A room was added to the registry through a peer: the office starts it if it runs here.
    fn room_created(&self, room: Room);
}

#[async_trait]
impl ServedOffices for LocalRouter {
    async fn room(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
        room: &RoomId,
    ) -> Result<RoomHandle, ServiceError> {
        Router::room(self, tenant, office, room).await
    }

    async fn office(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
    ) -> Result<OfficeHandle, ServiceError> {
        Router::office(self, tenant, office).await
    }

    fn room_created(&self, room: Room) {
        Router::room_created(self, room);
    }
}
