//! The REST API's own request bodies and query strings: what the gateway decodes from a request
//! beside readings ([`crate::ReadingBatch`]) and ids. Each comes with its check, which turns the
//! decoded value into a checked one or a [`ProtocolError`] (`invalid_request`, or `invalid_id`
//! for a bad id), so the gateway and the fuzz targets (`protocol/fuzz`) run the same code.
//!
//! Checks that need the node (the caller's token, a tenant's existence, the store) stay in the
//! gateway; what is here needs only the request and, where a rule depends on it, the node's
//! clock or a setting passed in.

mod audit_query;
mod calendar;
mod erasure;
mod log_filter;
mod registry;
mod retention;
mod sensor_keys;
mod tokens;
mod window;

pub use audit_query::{
    AuditPage, AuditQuery, DEFAULT_AUDIT_LIMIT, MAX_AUDIT_CURSOR, MAX_AUDIT_LIMIT,
};
pub use calendar::CalendarView;
pub use erasure::{ErasureConfirmation, ErasureRequest, MAX_REQUESTED_BY};
pub use log_filter::LogFilter;
pub use registry::{
    CountMode, MAX_NAME_LEN, NewOffice, NewRoom, NewSensor, NewTenant, check_name, named,
};
pub use retention::RetentionPolicy;
pub use sensor_keys::{DEFAULT_OVERLAP, MAX_OVERLAP, Rotate};
pub use tokens::{MAX_TOKEN_ID_LEN, NewToken, RevokeBefore, RevokeToken, Role, valid_token_id};
pub use window::{MAX_BUCKETS, MAX_RANGE_DAYS, Window, WindowQuery};

use crate::ProtocolError;

/// `invalid_request` with `message`.
fn invalid(message: String) -> ProtocolError {
    ProtocolError::InvalidRequest(message)
}
