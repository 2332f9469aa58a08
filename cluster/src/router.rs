//! The [`Router`] trait: which handle serves a `(tenant, office)`.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use tally_protocol::{OfficeId, RoomId, ServiceError, TenantId};
use tally_storage::Room;

use crate::{OfficeHandle, RoomHandle};

/// A router shared by every handler of the gateway.
pub type SharedRouter = Arc<dyn Router>;

/// Resolves offices and rooms to handles on whichever node owns them.
#[async_trait]
pub trait Router: Send + Sync + std::fmt::Debug + 'static {
    /// The handle of an office of `tenant`, activating it if needed. The tenant is part of the
    /// lookup: an office of another tenant is [`ServiceError::NotFound`], exactly like one that
    /// does not exist.
    ///
    /// # Errors
    /// [`ServiceError`] when the office cannot be served.
    async fn office(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
    ) -> Result<OfficeHandle, ServiceError>;

    /// The handle of a room of an office of `tenant`, activating it if needed.
    ///
    /// # Errors
    /// As [`Router::office`], and [`ServiceError::NotFound`] for a room not in that office.
    async fn room(
        &self,
        tenant: &TenantId,
        office: &OfficeId,
        room: &RoomId,
    ) -> Result<RoomHandle, ServiceError>;

    /// Tells the owner of the room's office that the room was added to the registry.
    fn room_created(&self, room: Room);

    /// Tenants quarantined (on this node).
    ///
    /// # Errors
    /// [`ServiceError::Unavailable`] if the node could not be asked.
    async fn quarantined(&self) -> Result<BTreeSet<TenantId>, ServiceError>;

    /// Lifts a tenant's quarantine wherever it applies; `true` if it was quarantined.
    ///
    /// # Errors
    /// [`ServiceError::Unavailable`] if the node could not be asked.
    async fn release_tenant(&self, tenant: &TenantId) -> Result<bool, ServiceError>;

    /// Takes a tenant out of service everywhere for its erasure: it is never activated again
    /// (requests answer [`ServiceError::NotFound`], as for a missing tenant), and its actors stop
    /// once they have finished what they were sent. Returns when they have stopped and their
    /// last writes are durable, so nothing of the tenant is written after that.
    ///
    /// # Errors
    /// [`ServiceError::Unavailable`] if the node could not be asked.
    async fn retire_tenant(&self, tenant: &TenantId) -> Result<(), ServiceError>;
}
