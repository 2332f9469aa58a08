//! Stable error codes and the protocol's error type.
//!
//! [`ErrorCode`] is the one place that maps an error kind to its wire code, HTTP status,
//! WebSocket close code and retryability; every typed error of every layer ([`ProtocolError`]
//! here, [`crate::ServiceError`] for what a node answers, the store's errors through it) names its
//! code. Codes are part of the API: never rename one.

use serde::{Deserialize, Serialize};

use crate::IdError;

/// A stable, machine-readable error code (snake_case on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame or body could not be decoded.
    MalformedFrame,
    /// The frame or body is larger than allowed.
    FrameTooLarge,
    /// A batch has more readings than allowed.
    TooManyItems,
    /// A batch has no readings.
    EmptyBatch,
    /// A reading's `seq` is 0 or above 2^53 − 1.
    InvalidSeq,
    /// A reading's count is negative or above the maximum.
    CountOutOfRange,
    /// A reading's timestamp is too far in the future.
    TimestampInFuture,
    /// A reading's timestamp is before the year 2000.
    TimestampTooOld,
    /// An id breaks the slug rules.
    InvalidId,
    /// A request body or query is invalid.
    InvalidRequest,
    /// The route exists, but not with this HTTP method.
    MethodNotAllowed,
    /// The client was too slow to send its request.
    RequestTimeout,
    /// The route is a WebSocket: the request must ask to upgrade.
    UpgradeRequired,
    /// The WebSocket subprotocol is missing or not supported.
    UnsupportedSubprotocol,
    /// The first frame of a sensor connection must be `hello`.
    ExpectedHello,
    /// The sensor did not authenticate in time.
    HelloTimeout,
    /// Credentials are missing or invalid.
    Unauthenticated,
    /// The token has expired.
    TokenExpired,
    /// The sensor key is not known.
    UnknownSensorKey,
    /// The credentials do not allow this operation.
    Forbidden,
    /// The resource does not exist (or belongs to another tenant).
    NotFound,
    /// The resource exists already.
    AlreadyExists,
    /// The tenant sends faster than its quota.
    RateLimited,
    /// The tenant's actors kept failing and are stopped until an operator intervenes.
    TenantQuarantined,
    /// The service cannot take the request now; retry later.
    Unavailable,
    /// Storage failed; nothing was acknowledged.
    StorageFailure,
    /// An unexpected server error.
    Internal,
}

impl ErrorCode {
    /// The code that goes with an HTTP status produced outside tally's handlers (the router's 405,
    /// a refused WebSocket upgrade, a body limit), so every error answers with a code.
    pub fn for_http_status(status: u16) -> Self {
        match status {
            401 => Self::Unauthenticated,
            403 => Self::Forbidden,
            404 => Self::NotFound,
            405 => Self::MethodNotAllowed,
            408 => Self::RequestTimeout,
            409 => Self::AlreadyExists,
            413 => Self::FrameTooLarge,
            426 => Self::UpgradeRequired,
            429 => Self::RateLimited,
            503 => Self::Unavailable,
            400..=499 => Self::InvalidRequest,
            _ => Self::Internal,
        }
    }

    /// The snake_case wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MalformedFrame => "malformed_frame",
            Self::FrameTooLarge => "frame_too_large",
            Self::TooManyItems => "too_many_items",
            Self::EmptyBatch => "empty_batch",
            Self::InvalidSeq => "invalid_seq",
            Self::CountOutOfRange => "count_out_of_range",
            Self::TimestampInFuture => "timestamp_in_future",
            Self::TimestampTooOld => "timestamp_too_old",
            Self::InvalidId => "invalid_id",
            Self::InvalidRequest => "invalid_request",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::RequestTimeout => "request_timeout",
            Self::UpgradeRequired => "upgrade_required",
            Self::UnsupportedSubprotocol => "unsupported_subprotocol",
            Self::ExpectedHello => "expected_hello",
            Self::HelloTimeout => "hello_timeout",
            Self::Unauthenticated => "unauthenticated",
            Self::TokenExpired => "token_expired",
            Self::UnknownSensorKey => "unknown_sensor_key",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::AlreadyExists => "already_exists",
            Self::RateLimited => "rate_limited",
            Self::TenantQuarantined => "tenant_quarantined",
            Self::Unavailable => "unavailable",
            Self::StorageFailure => "storage_failure",
            Self::Internal => "internal",
        }
    }

    /// The HTTP status that goes with the code.
    pub fn http_status(self) -> u16 {
        match self {
            Self::MalformedFrame
            | Self::TooManyItems
            | Self::EmptyBatch
            | Self::InvalidSeq
            | Self::CountOutOfRange
            | Self::TimestampInFuture
            | Self::TimestampTooOld
            | Self::InvalidId
            | Self::InvalidRequest
            | Self::UnsupportedSubprotocol
            | Self::ExpectedHello => 400,
            Self::Unauthenticated | Self::TokenExpired | Self::UnknownSensorKey => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::HelloTimeout | Self::RequestTimeout => 408,
            Self::UpgradeRequired => 426,
            Self::AlreadyExists => 409,
            Self::FrameTooLarge => 413,
            Self::RateLimited => 429,
            Self::Internal => 500,
            Self::TenantQuarantined | Self::Unavailable | Self::StorageFailure => 503,
        }
    }

    /// Whether the same request may succeed later without changing it: the node was busy,
    /// starting, or its store failed (nothing was acknowledged). Every other code needs a
    /// different request (or an operator).
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            Self::Unavailable
                | Self::StorageFailure
                | Self::RateLimited
                | Self::HelloTimeout
                | Self::RequestTimeout
        )
    }

    /// The WebSocket close code: 4000 + the HTTP status (4400, 4401, 4404, 4413, …).
    pub fn ws_close_code(self) -> u16 {
        4000 + self.http_status()
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The JSON error body of every HTTP error: `{"error":{"code":"…","message":"…"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The inside of [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// Stable code.
    pub code: ErrorCode,
    /// Human-readable explanation.
    pub message: String,
}

impl ErrorBody {
    /// Builds a body from a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            error: ErrorDetail {
                code,
                message: message.into(),
            },
        }
    }
}

/// Why a frame or a reading was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProtocolError {
    /// Bytes that do not decode as the expected frame.
    #[error("malformed frame: {0}")]
    Malformed(String),
    /// A frame over the size limit.
    #[error("frame of {size} bytes exceeds the limit of {max} bytes")]
    FrameTooLarge {
        /// Size of the frame.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A batch with more items than allowed.
    #[error("batch of {items} readings exceeds the limit of {max}")]
    TooManyItems {
        /// Items in the batch.
        items: usize,
        /// The limit.
        max: usize,
    },
    /// A batch with no items.
    #[error("batch has no readings")]
    EmptyBatch,
    /// A reading whose `seq` is 0 or above [`crate::MAX_SEQ`].
    #[error("reading seq {seq} is outside 1..={max}", max = crate::MAX_SEQ)]
    InvalidSeq {
        /// The seq sent.
        seq: u64,
    },
    /// A count outside `0..=max`.
    #[error("reading {seq}: count {count} is outside 0..={max}")]
    CountOutOfRange {
        /// The reading's seq.
        seq: u64,
        /// The count sent.
        count: i64,
        /// The maximum count.
        max: u32,
    },
    /// A timestamp too far in the future.
    #[error("reading {seq}: timestamp {ts} is too far ahead of the node clock {now}")]
    TimestampInFuture {
        /// The reading's seq.
        seq: u64,
        /// The timestamp sent.
        ts: i64,
        /// The node clock.
        now: i64,
    },
    /// A timestamp before 2000.
    #[error("reading {seq}: timestamp {ts} is before 2000-01-01")]
    TimestampTooOld {
        /// The reading's seq.
        seq: u64,
        /// The timestamp sent.
        ts: i64,
    },
    /// An invalid id.
    #[error(transparent)]
    InvalidId(#[from] IdError),
    /// A request body or query string that decodes but breaks a rule of its route (the
    /// message names the parameter).
    #[error("{0}")]
    InvalidRequest(String),
}

impl ProtocolError {
    /// The seq of the reading at fault, when one reading was.
    pub fn seq(&self) -> Option<u64> {
        match self {
            Self::InvalidSeq { seq }
            | Self::CountOutOfRange { seq, .. }
            | Self::TimestampInFuture { seq, .. }
            | Self::TimestampTooOld { seq, .. } => Some(*seq),
            _ => None,
        }
    }

    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Malformed(_) => ErrorCode::MalformedFrame,
            Self::FrameTooLarge { .. } => ErrorCode::FrameTooLarge,
            Self::TooManyItems { .. } => ErrorCode::TooManyItems,
            Self::EmptyBatch => ErrorCode::EmptyBatch,
            Self::InvalidSeq { .. } => ErrorCode::InvalidSeq,
            Self::CountOutOfRange { .. } => ErrorCode::CountOutOfRange,
            Self::TimestampInFuture { .. } => ErrorCode::TimestampInFuture,
            Self::TimestampTooOld { .. } => ErrorCode::TimestampTooOld,
            Self::InvalidId(_) => ErrorCode::InvalidId,
            Self::InvalidRequest(_) => ErrorCode::InvalidRequest,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_matches_as_str() {
        for code in [
            ErrorCode::MalformedFrame,
            ErrorCode::TenantQuarantined,
            ErrorCode::NotFound,
        ] {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }

    #[test]
    fn close_codes_are_in_the_application_range() {
        for code in [
            ErrorCode::Internal,
            ErrorCode::UnknownSensorKey,
            ErrorCode::FrameTooLarge,
        ] {
            assert!((4000..5000).contains(&code.ws_close_code()));
        }
        assert_eq!(ErrorCode::NotFound.ws_close_code(), 4404);
    }

    #[test]
    fn statuses_from_outside_map_to_codes_of_the_same_status() {
        for status in [400, 401, 403, 404, 405, 408, 409, 413, 426, 429, 500, 503] {
            assert_eq!(ErrorCode::for_http_status(status).http_status(), status);
        }
        assert_eq!(ErrorCode::for_http_status(418), ErrorCode::InvalidRequest);
        assert_eq!(ErrorCode::for_http_status(502), ErrorCode::Internal);
    }

    #[test]
    fn error_body_shape() {
        let body =
            serde_json::to_value(ErrorBody::new(ErrorCode::NotFound, "office not found")).unwrap();
        assert_eq!(body["error"]["code"], "not_found");
        assert_eq!(body["error"]["message"], "office not found");
    }
}
