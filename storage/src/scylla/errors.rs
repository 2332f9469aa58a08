//! Classification of driver errors into [`StoreError`]s.
//!
//! What may clear by itself becomes [`StoreError::Unavailable`] (retryable): no connection to
//! any node, a broken connection, a client-side timeout, and the coordinator's `Unavailable`,
//! `Overloaded`, `IsBootstrapping`, read/write timeouts and failures, rate limits and server
//! errors. After a write timeout the write may or may not have been applied: every statement
//! tally retries is idempotent (its keys say which row it writes), so the retry is harmless.
//! Everything else (syntax, invalid requests, authentication, protocol errors, rows of an
//! unexpected shape) is [`StoreError::Backend`]: retrying will not help.

use scylla::errors::{DbError, ExecutionError, PrepareError, RequestAttemptError};

use crate::StoreError;

/// Whether a coordinator's error may clear by itself.
fn transient_db_error(error: &DbError) -> bool {
    matches!(
        error,
        DbError::Unavailable { .. }
            | DbError::Overloaded
            | DbError::IsBootstrapping
            | DbError::ReadTimeout { .. }
            | DbError::WriteTimeout { .. }
            | DbError::ReadFailure { .. }
            | DbError::WriteFailure { .. }
            | DbError::TruncateError
            | DbError::ServerError
            | DbError::RateLimitReached { .. }
    )
}

/// Whether one attempt's error may clear by itself.
fn transient_attempt(error: &RequestAttemptError) -> bool {
    match error {
        RequestAttemptError::DbError(db, _) => transient_db_error(db),
        RequestAttemptError::BrokenConnectionError(_)
        | RequestAttemptError::UnableToAllocStreamId => true,
        _ => false,
    }
}

/// Maps an execution error: transient ones to `Unavailable`, others to `Backend`.
#[expect(clippy::needless_pass_by_value, reason = "shaped for `map_err(cql)`")]
pub(super) fn cql(error: ExecutionError) -> StoreError {
    let transient = match &error {
        ExecutionError::LastAttemptError(attempt) => transient_attempt(attempt),
        ExecutionError::ConnectionPoolError(_)
        | ExecutionError::RequestTimeout(_)
        | ExecutionError::EmptyPlan
        | ExecutionError::SchemaAgreementError(_)
        | ExecutionError::MetadataError(_) => true,
        ExecutionError::PrepareError(prepare) => transient_prepare(prepare),
        _ => false,
    };
    classify(transient, &error)
}

/// Whether preparing failed for want of a working node.
fn transient_prepare(error: &PrepareError) -> bool {
    match error {
        PrepareError::ConnectionPoolError(_) => true,
        PrepareError::AllAttemptsFailed { first_attempt } => transient_attempt(first_attempt),
        _ => false,
    }
}

/// Maps a prepare error like [`cql`].
#[expect(
    clippy::needless_pass_by_value,
    reason = "shaped for `map_err(prepare)`"
)]
pub(super) fn prepare(error: PrepareError) -> StoreError {
    classify(transient_prepare(&error), &error)
}

/// `Unavailable` or `Backend`, with the driver's message.
fn classify(transient: bool, error: &dyn std::fmt::Display) -> StoreError {
    if transient {
        StoreError::Unavailable(format!("cql: {error}"))
    } else {
        StoreError::Backend(format!("cql: {error}"))
    }
}

/// A fatal error about the shape of what the cluster answered.
pub(super) fn shape(what: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("cql: unexpected result: {what}"))
}

/// A stored value that cannot be what tally wrote.
pub(super) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}
