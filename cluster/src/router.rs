//! The [`Router`] trait.

use std::sync::Arc;

use async_trait::async_trait;
use ractor::ActorRef;
use tally_actors::{OfficeMsg, RoomMsg, ServiceError};
use tally_protocol::{OfficeId, RoomId, TenantId};
use tally_storage::Room;

/// A router shared by every handler of the gateway.
pub type SharedRouter = Arc<dyn Router>;

/// Resolves offices and rooms to the actors that own them.
#[async_trait]
pub trait Router: Send + Sync + std::fmt::Debug + 'static {
    /// The actor of an office of `tenant`. The tenant is part of the lookup: an office of
    /// another tenant is [`ServiceError::NotFound`], exactly like one that does not exist.
    ///
    /// # Errors
    /// [`ServiceError`] when the office cannot be served.
    async fn office(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
    ) -> Result<ActorRef<OfficeMsg>, ServiceError>;

    /// The actor of a room of an office of `tenant`.
    ///
    /// # Errors
    /// As [`Router::office`], and [`ServiceError::NotFound`] for a room not in that office.
    async fn room(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
        room: &RoomId,
    ) -> Result<ActorRef<RoomMsg>, ServiceError>;

    /// Tells the owner of the room's office that the room was added to the registry.
    fn room_created(&self, room: Room);

    /// Lifts a tenant's quarantine wherever it applies; `true` if it was quarantined.
    ///
    /// # Errors
    /// [`ServiceError::Unavailable`] if the node could not be asked.
    async fn release_tenant(&self, tenant: &TenantId) -> Result<bool, ServiceError>;
}
