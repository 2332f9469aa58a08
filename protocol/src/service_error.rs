//! [`ServiceError`]: why a node could not serve a request. It crosses layers (store → actors →
//! handles → gateway) and, in a cluster, nodes, so it is serializable; its [`ErrorCode`] decides
//! the HTTP status, the WebSocket close code and whether the caller may retry.

use serde::{Deserialize, Serialize};

use crate::ErrorCode;

/// Why a node could not serve a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceError {
    /// The tenant, office or room does not exist (or belongs to another tenant).
    #[error("{what} {id:?} not found")]
    NotFound {
        /// What was looked for (tenant, office, room, sensor).
        what: String,
        /// Its id.
        id: String,
    },
    /// A registry entry with this id exists already.
    #[error("{what} {id:?} already exists")]
    AlreadyExists {
        /// What kind of entry.
        what: String,
        /// Its id.
        id: String,
    },
    /// The tenant's actors kept failing and are stopped until an operator lifts the quarantine.
    #[error("tenant {0:?} is quarantined after repeated failures")]
    TenantQuarantined(String),
    /// An actor stopped or did not answer in time, or the node cannot take the request now.
    #[error("{0}")]
    Unavailable(String),
    /// Storage failed; nothing was acknowledged.
    #[error("storage failed: {0}")]
    Storage(String),
}

impl ServiceError {
    /// The stable wire code (which decides status, close code and retryability).
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotFound { .. } => ErrorCode::NotFound,
            Self::AlreadyExists { .. } => ErrorCode::AlreadyExists,
            Self::TenantQuarantined(_) => ErrorCode::TenantQuarantined,
            Self::Unavailable(_) => ErrorCode::Unavailable,
            Self::Storage(_) => ErrorCode::StorageFailure,
        }
    }

    /// Whether the same request may succeed later (see [`ErrorCode::is_retryable`]).
    pub fn is_retryable(&self) -> bool {
        self.code().is_retryable()
    }

    /// A [`ServiceError::NotFound`].
    pub fn not_found(what: &str, id: impl std::fmt::Display) -> Self {
        Self::NotFound {
            what: what.to_owned(),
            id: id.to_string(),
        }
    }

    /// A [`ServiceError::AlreadyExists`].
    pub fn already_exists(what: &str, id: impl std::fmt::Display) -> Self {
        Self::AlreadyExists {
            what: what.to_owned(),
            id: id.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_retryability() {
        let missing = ServiceError::not_found("office", "hq");
        assert_eq!(missing.code(), ErrorCode::NotFound);
        assert_eq!(missing.to_string(), "office \"hq\" not found");
        assert!(!missing.is_retryable());
        assert!(ServiceError::Unavailable("x".into()).is_retryable());
        assert!(ServiceError::Storage("x".into()).is_retryable());
        assert!(!ServiceError::TenantQuarantined("t".into()).is_retryable());
        assert_eq!(
            ServiceError::already_exists("room", "r")
                .code()
                .http_status(),
            409
        );
    }

    #[test]
    fn crosses_a_wire_unchanged() {
        for err in [
            ServiceError::not_found("room", "r1"),
            ServiceError::already_exists("tenant", "t"),
            ServiceError::TenantQuarantined("t".into()),
            ServiceError::Unavailable("office did not answer in time".into()),
            ServiceError::Storage("disk full".into()),
        ] {
            let bytes = rmp_serde::to_vec_named(&err).unwrap();
            let back: ServiceError = rmp_serde::from_slice(&bytes).unwrap();
            assert_eq!(back, err);
        }
    }
}
