//! HTTP errors: every error answers `{"error":{"code","message"}}` with the code's status.

use axum::Json;
use axum::extract::Request;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use std::time::Duration;

use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tally_protocol::{ErrorBody, ErrorCode, OfficeId, ProtocolError, ServiceError};
use tally_storage::StoreError;

/// An error answered to an HTTP client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// Stable code (decides the status).
    pub code: ErrorCode,
    /// Human-readable explanation.
    pub message: String,
    /// How long the client should wait before trying again (`Retry-After`), for `rate_limited`.
    pub retry_after: Option<Duration>,
    /// A refused access answered as something else (another tenant's resource answered as
    /// missing): the audit log records it as denied (see [`AccessDenied`]).
    pub denied: bool,
}

/// Response extension: this error answered a refused access (the audit middleware records it).
#[derive(Debug, Clone, Copy)]
pub struct AccessDenied;

impl ApiError {
    /// An error with a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after: None,
            denied: false,
        }
    }

    /// The same error, marked as answering a refused access.
    #[must_use]
    pub fn denied(self) -> Self {
        Self {
            denied: true,
            ..self
        }
    }

    /// `rate_limited`: the client may try again after `retry_after`.
    pub fn rate_limited(message: impl Into<String>, retry_after: Duration) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(ErrorCode::RateLimited, message)
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
        let mut response = (status, Json(ErrorBody::new(self.code, self.message))).into_response();
        if self.denied {
            response.extensions_mut().insert(AccessDenied);
        }
        if let Some(wait) = self.retry_after {
            // Whole seconds, rounded up: a client that waits as told is not refused again.
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        }
        response
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        Self::new(err.code(), err.to_string())
    }
}

impl From<StoreError> for ApiError {
    /// Through [`ServiceError`], the one mapping of storage errors.
    fn from(err: StoreError) -> Self {
        ServiceError::from(err).into()
    }
}

/// A missing tenant is reported as a missing office, so a caller cannot probe tenant ids.
pub(crate) fn hide_tenant(err: ServiceError, office: &OfficeId) -> ApiError {
    match err {
        ServiceError::NotFound { .. } => ApiError::not_found("office", office),
        other => other.into(),
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

/// Largest non-JSON error body rewritten by [`json_errors`]; such bodies are one-line texts.
const MAX_PLAIN_ERROR_BYTES: usize = 4096;

/// Middleware: every error answers `{"error":{"code","message"}}`, including those produced
/// outside tally's handlers (the router's 405, a refused WebSocket upgrade). A plain-text error
/// body becomes the message; headers (e.g. `Allow`) are kept.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_PLAIN_ERROR_BYTES)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_lowercase()
    } else {
        text
    };
    let code = ErrorCode::for_http_status(status.as_u16());
    let body = serde_json::to_vec(&ErrorBody::new(code, message)).unwrap_or_default();
    parts.headers.remove(CONTENT_LENGTH);
    parts.headers.insert(
        CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, axum::body::Body::from(body))
}
