//! Storage errors.

/// Why a storage operation failed.
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
}

impl StoreError {
    /// Whether retrying the same operation later may succeed ([`StoreError::Unavailable`]).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

impl From<StoreError> for tally_protocol::ServiceError {
    /// The one mapping of storage errors to what a node answers: registry conflicts keep their
    /// meaning, a transient outage is [`tally_protocol::ServiceError::Unavailable`] and every
    /// other backend failure is [`tally_protocol::ServiceError::Storage`].
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
            other @ (StoreError::Backend(_) | StoreError::Corrupt(_)) => {
                Self::Storage(other.to_string())
            }
        }
    }
}
