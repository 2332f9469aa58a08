//! Errors of membership and leases.

/// Why a membership or lease operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CoordinationError {
    /// Redis could not be reached, timed out or refused the command.
    #[error("redis unavailable: {0}")]
    Redis(#[from] redis::RedisError),
    /// Redis holds a member record that this node cannot read.
    #[error("malformed member record {id:?} in redis: {problem}")]
    MalformedMember {
        /// The member's id.
        id: String,
        /// What is wrong with it.
        problem: String,
    },
}
