//! Errors that actors answer to callers.

use ractor::{MessagingErr, RactorErr, rpc::CallResult};
use tally_protocol::ErrorCode;
use tally_storage::StoreError;

/// Why a node could not serve a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// The tenant, office or room does not exist (or belongs to another tenant).
    #[error("{kind} {id:?} not found")]
    NotFound {
        /// What was looked for.
        kind: &'static str,
        /// Its id.
        id: String,
    },
    /// The tenant's actors kept failing and are stopped.
    #[error("tenant {0:?} is quarantined after repeated failures")]
    TenantQuarantined(String),
    /// An actor stopped or did not answer in time; retry.
    #[error("{0}")]
    Unavailable(String),
    /// Storage failed; nothing was acknowledged.
    #[error("storage failed: {0}")]
    Storage(String),
}

impl ServiceError {
    /// The stable wire code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotFound { .. } => ErrorCode::NotFound,
            Self::TenantQuarantined(_) => ErrorCode::TenantQuarantined,
            Self::Unavailable(_) => ErrorCode::Unavailable,
            Self::Storage(_) => ErrorCode::StorageFailure,
        }
    }

    /// A [`ServiceError::NotFound`].
    pub fn not_found(kind: &'static str, id: impl std::fmt::Display) -> Self {
        Self::NotFound {
            kind,
            id: id.to_string(),
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound { kind, id } => Self::NotFound { kind, id },
            other => Self::Storage(other.to_string()),
        }
    }
}

/// Flattens the outcome of an actor call into a [`ServiceError`] naming `what` was called.
pub(crate) fn flatten_call<T, M>(
    what: &str,
    result: Result<CallResult<Result<T, ServiceError>>, MessagingErr<M>>,
) -> Result<T, ServiceError> {
    match result {
        Ok(CallResult::Success(answer)) => answer,
        Ok(CallResult::Timeout) => Err(ServiceError::Unavailable(format!(
            "{what} did not answer in time"
        ))),
        Ok(CallResult::SenderError) => Err(ServiceError::Unavailable(format!(
            "{what} stopped before answering"
        ))),
        Err(err) => Err(ServiceError::Unavailable(format!(
            "{what} is not running: {}",
            RactorErr::from(err)
        ))),
    }
}
