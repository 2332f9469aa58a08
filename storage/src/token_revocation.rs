//! Revoked tenant JWTs: per tenant, "every token issued before T is invalid", and single tokens
//! revoked by id (`jti`), each kept until the token would have expired anyway.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// The token ids a store accepts are the API's: one rule, in `tally_protocol::api`.
pub use tally_protocol::api::{MAX_TOKEN_ID_LEN, valid_token_id};

/// What of a tenant's tokens is revoked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenRevocations {
    /// Tokens with `iat` (seconds since the epoch) below this are invalid; it only ever rises.
    pub issued_before: Option<u64>,
    /// Ids (`jti`) of revoked tokens that have not expired yet.
    pub token_ids: BTreeSet<String>,
}

impl TokenRevocations {
    /// Whether a token issued at `iat` with id `jti` is revoked.
    pub fn revokes(&self, iat: u64, jti: Option<&str>) -> bool {
        self.issued_before.is_some_and(|before| iat < before)
            || jti.is_some_and(|id| self.token_ids.contains(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revokes_by_issue_time_and_by_id() {
        let revocations = TokenRevocations {
            issued_before: Some(100),
            token_ids: ["gone".to_owned()].into(),
        };
        assert!(revocations.revokes(99, None));
        assert!(!revocations.revokes(100, Some("kept")));
        assert!(revocations.revokes(500, Some("gone")));
        assert!(!TokenRevocations::default().revokes(0, Some("gone")));
        assert!(valid_token_id("abc-_DEF"));
        assert!(!valid_token_id(""));
        assert!(!valid_token_id("a b"));
        assert!(!valid_token_id(&"x".repeat(129)));
    }
}
