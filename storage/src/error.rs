//! Storage errors.

use tally_protocol::{OfficeId, TenantId};

/// Why a storage operation failed.
///
/// Only [`StoreError::Unavailable`] is retryable ([`StoreError::is_retryable`]): the same call
/// may succeed later, so callers back off and retry (and a node reports itself not ready while
/// it lasts). Every other error is fatal for that call: retrying it unchanged fails again
/// (`AlreadyExists`, `NotFound`, `Fenced`, `Erased`) or needs an operator (`Backend`,
/// `Corrupt`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A registry entry with this id exists already.
    #[error("{kind} {id:?} already exists")]
    AlreadyExists {
        /// What kind of entry (tenant, office, room, sensor, sensor key).
        kind: &'static str,
        /// Its id.
        id: String,
    },
    /// A registry entry this operation needs does not exist.
    #[error("{kind} {id:?} not found")]
    NotFound {
        /// What kind of entry.
        kind: &'static str,
        /// Its id.
        id: String,
    },
    /// The backend failed (I/O, driver); nothing of the operation may be assumed durable.
    #[error("storage backend failed: {0}")]
    Backend(String),
    /// A stored value could not be decoded.
    #[error("stored value is corrupt: {0}")]
    Corrupt(String),
    /// The backend is unreachable or failed transiently (connection lost, server restarting,
    /// serialization failure, timeout): nothing of the operation may be assumed durable, and the
    /// same operation may succeed if retried later.
    #[error("storage backend unavailable: {0}")]
    Unavailable(String),
    /// A write carried an owner token lower than the one the store holds for its office: the
    /// office has a newer owner. Nothing of the batch was written; not retryable (the writer
    /// must stop writing for the office).
    #[error("office {tenant}/{office} is fenced: write token {token} < current token {current}")]
    Fenced {
        /// Tenant of the office.
        tenant: TenantId,
        /// The office (the first fenced one of the batch, in `(tenant, office)` order).
        office: OfficeId,
        /// The token the write carried.
        token: u64,
        /// The token the store holds.
        current: u64,
    },
    /// The tenant is erased (or being erased): nothing more of it is accepted. Not retryable.
    #[error("tenant {0:?} is erased")]
    Erased(TenantId),
}

impl StoreError {
    /// Whether retrying the same operation later may succeed ([`StoreError::Unavailable`] only).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

impl From<StoreError> for tally_protocol::ServiceError {
    /// The one mapping of storage errors to what a node answers: registry conflicts keep their
    /// meaning, an erased tenant is missing, a transient outage and a fenced office (the office
    /// moved) are [`tally_protocol::ServiceError::Unavailable`] and every other backend failure
    /// is [`tally_protocol::ServiceError::Storage`].
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound { kind, id } => Self::NotFound {
                what: kind.to_owned(),
                id,
            },
            StoreError::AlreadyExists { kind, id } => Self::AlreadyExists {
                what: kind.to_owned(),
                id,
            },
            unavailable @ StoreError::Unavailable(_) => Self::Unavailable(unavailable.to_string()),
            // The office moved to another owner: the sender should go (and resend) there.
            fenced @ StoreError::Fenced { .. } => Self::Unavailable(fenced.to_string()),
            StoreError::Erased(tenant) => Self::NotFound {
                what: "tenant".to_owned(),
                id: tenant.to_string(),
            },
            other @ (StoreError::Backend(_) | StoreError::Corrupt(_)) => {
                Self::Storage(other.to_string())
            }
        }
    }
}
