//! Classification of driver and pool errors into [`StoreError`]s.
//!
//! Transient failures, after which the same operation may succeed (connection lost or refused,
//! server shutting down or starting, serialization failure, deadlock, statement timeout, too many
//! connections, disk full, read-only after a failover, pool wait timeout), become
//! [`StoreError::Unavailable`]; everything else becomes [`StoreError::Backend`]. Unique and
//! foreign-key violations are mapped by the caller, which knows what was being created.

use std::error::Error as _;

use tokio_postgres::error::SqlState;

use crate::StoreError;

/// What a failed statement violated, for the caller (which knows the statement) to name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Violation {
    /// A unique or primary key constraint.
    Unique,
    /// A foreign key constraint.
    ForeignKey,
}

/// The constraint violation behind `error`, if that is what it is.
pub(super) fn violation(error: &tokio_postgres::Error) -> Option<Violation> {
    match *error.code()? {
        SqlState::UNIQUE_VIOLATION => Some(Violation::Unique),
        SqlState::FOREIGN_KEY_VIOLATION => Some(Violation::ForeignKey),
        _ => None,
    }
}

/// Whether an SQLSTATE names a condition that may clear by itself.
fn is_transient(state: &SqlState) -> bool {
    let code = state.code();
    code.starts_with("08") // connection exception
        || code.starts_with("53") // insufficient resources: disk full, out of memory, too many connections
        || code.starts_with("57P") // admin or crash shutdown, cannot connect now
        || [
            SqlState::T_R_SERIALIZATION_FAILURE,
            SqlState::T_R_DEADLOCK_DETECTED,
            SqlState::QUERY_CANCELED, // statement_timeout
            SqlState::LOCK_NOT_AVAILABLE,
            SqlState::READ_ONLY_SQL_TRANSACTION, // connected to a standby after a failover
            SqlState::IDLE_IN_TRANSACTION_SESSION_TIMEOUT,
        ]
        .contains(state)
}

/// Maps a driver error: transient ones to `Unavailable`, others to `Backend`.
#[expect(clippy::needless_pass_by_value, reason = "shaped for `map_err(pg)`")]
pub(super) fn pg(error: tokio_postgres::Error) -> StoreError {
    let message = match error.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => match error.source() {
            Some(source) => format!("{error}: {source}"),
            None => error.to_string(),
        },
    };
    let transient = match error.code() {
        Some(state) => is_transient(state),
        // No SQLSTATE: the driver failed. Its error kind is private, so the kinds of a lost or
        // refused connection are told by their (stable) messages; conversion, parse,
        // authentication and configuration errors stay fatal.
        None => {
            error.is_closed()
                || error
                    .source()
                    .is_some_and(|source| source.downcast_ref::<std::io::Error>().is_some())
                || [
                    "error communicating with the server",
                    "error connecting to server",
                    "timeout waiting for server",
                    "error performing TLS handshake",
                ]
                .contains(&error.to_string().as_str())
        }
    };
    if transient {
        StoreError::Unavailable(format!("postgresql: {message}"))
    } else {
        StoreError::Backend(format!("postgresql: {message}"))
    }
}

/// Maps a pool error: waiting for or opening a connection failed.
pub(super) fn pool(error: deadpool_postgres::PoolError) -> StoreError {
    match error {
        deadpool_postgres::PoolError::Backend(error) => pg(error),
        other => StoreError::Unavailable(format!("postgresql connection pool: {other}")),
    }
}

/// A backend error with a message.
pub(super) fn backend(message: impl Into<String>) -> StoreError {
    StoreError::Backend(message.into())
}

/// A stored value that does not fit the model.
pub(super) fn corrupt(message: impl Into<String>) -> StoreError {
    StoreError::Corrupt(message.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_states_are_told_apart_from_fatal_ones() {
        for state in [
            SqlState::T_R_SERIALIZATION_FAILURE,
            SqlState::T_R_DEADLOCK_DETECTED,
            SqlState::QUERY_CANCELED,
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
            SqlState::CONNECTION_FAILURE,
            SqlState::TOO_MANY_CONNECTIONS,
            SqlState::DISK_FULL,
            SqlState::READ_ONLY_SQL_TRANSACTION,
        ] {
            assert!(is_transient(&state), "{}", state.code());
        }
        for state in [
            SqlState::UNIQUE_VIOLATION,
            SqlState::FOREIGN_KEY_VIOLATION,
            SqlState::INSUFFICIENT_PRIVILEGE,
            SqlState::SYNTAX_ERROR,
            SqlState::UNDEFINED_TABLE,
            SqlState::INVALID_PASSWORD,
        ] {
            assert!(!is_transient(&state), "{}", state.code());
        }
    }

    #[test]
    fn only_unavailable_is_retryable() {
        assert!(StoreError::Unavailable("x".into()).is_retryable());
        assert!(!StoreError::Backend("x".into()).is_retryable());
        assert!(!StoreError::Corrupt("x".into()).is_retryable());
    }
}
