//! HTTP errors: every error answers `{"error":{"code","message"}}` with the code's status.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tally_actors::ServiceError;
use tally_protocol::{ErrorBody, ErrorCode, ProtocolError};
use tally_storage::StoreError;

/// An error answered to an HTTP client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// Stable code (decides the status).
    pub code: ErrorCode,
    /// Human-readable explanation.
    pub message: String,
}

impl ApiError {
    /// An error with a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// `not_found` for a kind and id: the same answer whether the resource does not exist or
    /// belongs to another tenant.
    pub fn not_found(kind: &str, id: impl std::fmt::Display) -> Self {
        Self::new(
            ErrorCode::NotFound,
            format!("{kind} {:?} not found", id.to_string()),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::warn!(code = %self.code, message = %self.message, "request failed");
        }
        (status, Json(ErrorBody::new(self.code, self.message))).into_response()
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        Self::new(err.code(), err.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        let code = match &err {
            StoreError::AlreadyExists { .. } => ErrorCode::AlreadyExists,
            StoreError::NotFound { .. } => ErrorCode::NotFound,
            StoreError::Backend(_) | StoreError::Corrupt(_) => ErrorCode::StorageFailure,
            StoreError::Unavailable(_) => ErrorCode::Unavailable,
        };
        Self::new(code, err.to_string())
    }
}

impl From<ProtocolError> for ApiError {
    fn from(err: ProtocolError) -> Self {
        Self::new(err.code(), err.to_string())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let code = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ErrorCode::FrameTooLarge
        } else {
            ErrorCode::InvalidRequest
        };
        Self::new(code, rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::new(ErrorCode::InvalidId, rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::new(ErrorCode::InvalidRequest, rejection.body_text())
    }
}

/// `axum::Json` whose rejection is an [`ApiError`].
#[derive(Debug, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `axum::extract::Path` whose rejection is an [`ApiError`] (ids are validated while parsing).
#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// Unknown routes.
pub async fn route_not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such route")
}
