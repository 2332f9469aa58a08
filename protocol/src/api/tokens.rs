//! Tenant tokens: the role one grants, minting one (`POST /v1/tenants/{tenant}/tokens`) and
//! revoking them (`POST …/tokens/revoke-before`, `POST …/tokens/revoke`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{check_name, invalid};
use crate::{ProtocolError, TenantId};

/// What a tenant principal may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manage the tenant's registry and read everything of the tenant.
    Admin,
    /// Read live occupancy and connect displays.
    Viewer,
}

/// Body of `POST /v1/tenants/{tenant}/tokens`.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// The role the token grants within the tenant.
    pub role: Role,
    /// Free text naming the holder (e.g. "lobby wall display").
    #[serde(default)]
    pub subject: Option<String>,
    /// Lifetime in seconds; the configured `auth.token_ttl` when absent, never longer (and,
    /// minted with a tenant admin's token, never past that token's expiry).
    #[serde(default)]
    pub ttl_secs: Option<u64>,
}

impl NewToken {
    /// The token's lifetime: `ttl_secs` capped at `max_ttl` (`max_ttl` when absent).
    ///
    /// # Errors
    ///
    /// `invalid_request` when that is zero.
    pub fn ttl(&self, max_ttl: Duration) -> Result<Duration, ProtocolError> {
        let ttl = self
            .ttl_secs
            .map_or(max_ttl, |secs| Duration::from_secs(secs).min(max_ttl));
        if ttl.is_zero() {
            return Err(invalid("ttl_secs must be at least 1".to_owned()));
        }
        Ok(ttl)
    }

    /// The token's subject: `subject`, or `{tenant}-{role}` when absent.
    ///
    /// # Errors
    ///
    /// `invalid_request` when it is longer than [`super::MAX_NAME_LEN`] characters.
    pub fn subject(&self, tenant: &TenantId) -> Result<String, ProtocolError> {
        let subject = self
            .subject
            .clone()
            .unwrap_or_else(|| format!("{tenant}-{:?}", self.role).to_lowercase());
        check_name(&subject)?;
        Ok(subject)
    }
}

/// Body of `POST /v1/tenants/{tenant}/tokens/revoke-before`.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RevokeBefore {
    /// Tokens issued before this time (milliseconds since the epoch) become invalid; now when
    /// absent; never later than now.
    #[serde(default)]
    pub before: Option<u64>,
}

impl RevokeBefore {
    /// The second before which tokens are revoked (issue times are whole seconds: the second
    /// that `before` falls in is revoked whole), `now_ms` when `before` is absent.
    ///
    /// # Errors
    ///
    /// `invalid_request` when `before` is later than `now_ms`.
    pub fn issued_before_secs(&self, now_ms: u64) -> Result<u64, ProtocolError> {
        let before_ms = self.before.unwrap_or(now_ms);
        if before_ms > now_ms {
            return Err(invalid(format!(
                "before is {before_ms}, later than now ({now_ms})"
            )));
        }
        Ok(before_ms.div_ceil(1000))
    }
}

/// Longest token id (`jti`) a revocation takes.
pub const MAX_TOKEN_ID_LEN: usize = 128;

/// Whether `token_id` may be a revoked token's id: 1 to [`MAX_TOKEN_ID_LEN`] visible ASCII
/// characters.
pub fn valid_token_id(token_id: &str) -> bool {
    (1..=MAX_TOKEN_ID_LEN).contains(&token_id.len())
        && token_id.bytes().all(|b| b.is_ascii_graphic())
}

/// Body of `POST /v1/tenants/{tenant}/tokens/revoke`.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RevokeToken {
    /// The token's id (`jti`; `id` in the answer of `POST /v1/tenants/{tenant}/tokens`): 1 to
    /// 128 visible ASCII characters.
    pub id: String,
    /// When the token expires (milliseconds since the epoch), after which the revocation is
    /// forgotten; `auth.token_ttl` from now when absent (the longest a minted token lives):
    /// give it for a longer-lived token of an identity provider.
    #[serde(default)]
    pub expires_at: Option<u64>,
}

impl RevokeToken {
    /// Until when (seconds since the epoch) the revocation is kept: `expires_at` rounded up to
    /// a second, `default_secs` when absent.
    ///
    /// # Errors
    ///
    /// `invalid_request` when `id` is not a token id ([`valid_token_id`]).
    pub fn expires_at_secs(&self, default_secs: u64) -> Result<u64, ProtocolError> {
        if !valid_token_id(&self.id) {
            return Err(invalid(format!(
                "id must be 1 to {MAX_TOKEN_ID_LEN} visible ASCII characters"
            )));
        }
        Ok(self.expires_at.map_or(default_secs, |ms| ms.div_ceil(1000)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoke_before_refuses_the_future_and_rounds_up_to_a_second() {
        let now = 1_764_000_000_999;
        let at = |before| RevokeBefore { before }.issued_before_secs(now);
        assert_eq!(at(None), Ok(1_764_000_001));
        assert_eq!(at(Some(1_000)), Ok(1));
        assert_eq!(at(Some(1_001)), Ok(2));
        assert_eq!(at(Some(0)), Ok(0));
        let err = at(Some(now + 1)).unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::InvalidRequest);
    }

    #[test]
    fn revoked_token_ids_are_visible_ascii() {
        let revoke = |id: &str| RevokeToken {
            id: id.to_owned(),
            expires_at: Some(1_500),
        };
        assert_eq!(revoke("abc").expires_at_secs(7), Ok(2));
        assert!(revoke("").expires_at_secs(7).is_err());
        assert!(revoke("a b").expires_at_secs(7).is_err());
        assert!(
            revoke(&"x".repeat(MAX_TOKEN_ID_LEN + 1))
                .expires_at_secs(7)
                .is_err()
        );
    }

    #[test]
    fn minted_ttl_is_capped_and_never_zero() {
        let token = |ttl_secs| NewToken {
            role: Role::Viewer,
            subject: None,
            ttl_secs,
        };
        let max = Duration::from_secs(60);
        assert_eq!(token(None).ttl(max), Ok(max));
        assert_eq!(token(Some(3600)).ttl(max), Ok(max));
        assert_eq!(token(Some(5)).ttl(max), Ok(Duration::from_secs(5)));
        assert!(token(Some(0)).ttl(max).is_err());
        let tenant = TenantId::new("acme").unwrap();
        assert_eq!(token(None).subject(&tenant).unwrap(), "acme-viewer");
    }
}
