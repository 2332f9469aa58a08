//! [`ErasureConfirmations`]: the signed, expiring token that confirms a requested tenant erasure.
//!
//! The token is stateless (an HS256 JWT with audience `tally-erasure`), so it survives a restart
//! and any node of a cluster sharing the JWT secret accepts it. It is signed with a key derived
//! from the JWT secret for this purpose only, so it is never accepted as a tenant token, nor a
//! tenant token as a confirmation.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tally_protocol::{ErrorCode, TenantId};

use crate::error::ApiError;

/// The audience of confirmation tokens.
const AUDIENCE: &str = "tally-erasure";

/// What a confirmation token confirms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ErasureClaims {
    /// Always [`AUDIENCE`].
    aud: String,
    /// The tenant to erase.
    pub(crate) tenant: TenantId,
    /// Who asked (recorded in the audit record).
    pub(crate) requested_by: String,
    /// Expiry, seconds since the epoch.
    pub(crate) exp: u64,
}

/// Mints and checks erasure confirmation tokens.
#[derive(Clone)]
pub(crate) struct ErasureConfirmations {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl std::fmt::Debug for ErasureConfirmations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ErasureConfirmations(<redacted>)")
    }
}

impl ErasureConfirmations {
    /// Confirmations signed with a key derived from `jwt_secret`, valid for `ttl`.
    pub(crate) fn new(jwt_secret: &str, ttl: Duration) -> Self {
        let key = Sha256::new()
            .chain_update(b"tally erasure confirmation\0")
            .chain_update(jwt_secret.as_bytes())
            .finalize();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "aud"]);
        Self {
            encoding: EncodingKey::from_secret(&key),
            decoding: DecodingKey::from_secret(&key),
            validation,
            ttl,
        }
    }

    /// A token confirming the erasure of `tenant` asked for by `requested_by`, and its expiry
    /// (milliseconds since the epoch).
    ///
    /// # Errors
    /// `internal` if signing fails.
    pub(crate) fn mint(
        &self,
        tenant: &TenantId,
        requested_by: &str,
    ) -> Result<(String, u64), ApiError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let exp = (now + self.ttl).as_secs();
        let claims = ErasureClaims {
            aud: AUDIENCE.to_owned(),
            tenant: tenant.clone(),
            requested_by: requested_by.to_owned(),
            exp,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|err| {
            ApiError::new(
                ErrorCode::Internal,
                format!("cannot sign confirmation: {err}"),
            )
        })?;
        Ok((token, exp * 1000))
    }

    /// The claims of a valid, unexpired confirmation of `tenant`'s erasure.
    ///
    /// # Errors
    /// `invalid_request` naming why: expired, for another tenant, or not a confirmation.
    pub(crate) fn verify(&self, token: &str, tenant: &TenantId) -> Result<ErasureClaims, ApiError> {
        let claims = jsonwebtoken::decode::<ErasureClaims>(token, &self.decoding, &self.validation)
            .map_err(|err| {
                let why = match err.kind() {
                    ErrorKind::ExpiredSignature => {
                        "the confirmation has expired; request the erasure again".to_owned()
                    }
                    _ => format!("not a valid erasure confirmation: {err}"),
                };
                ApiError::new(ErrorCode::InvalidRequest, why)
            })?
            .claims;
        if &claims.tenant != tenant {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                "the confirmation is for another tenant",
            ));
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(id: &str) -> TenantId {
        TenantId::new(id).unwrap()
    }

    #[test]
    fn a_confirmation_confirms_its_tenant_only() {
        let confirmations = ErasureConfirmations::new(
            "a-jwt-secret-of-at-least-32-bytes!!",
            Duration::from_secs(60),
        );
        let (token, _) = confirmations.mint(&tenant("acme"), "ops").unwrap();
        let claims = confirmations.verify(&token, &tenant("acme")).unwrap();
        assert_eq!(claims.requested_by, "ops");
        let other = confirmations.verify(&token, &tenant("globex")).unwrap_err();
        assert_eq!(other.code, ErrorCode::InvalidRequest);
        assert!(
            other.message.contains("another tenant"),
            "{}",
            other.message
        );
        let forged = ErasureConfirmations::new(
            "another-secret-of-at-least-32-bytes!",
            Duration::from_secs(60),
        );
        assert!(forged.verify(&token, &tenant("acme")).is_err());
    }

    #[test]
    fn a_tenant_token_is_no_confirmation() {
        let secret = "a-jwt-secret-of-at-least-32-bytes!!";
        let auth = crate::auth::Authenticator::new("admin-token-0123456789", secret);
        let token = auth
            .mint(
                tenant("acme"),
                crate::auth::Role::Admin,
                "x".into(),
                Duration::from_secs(60),
                0,
            )
            .unwrap()
            .token;
        let confirmations = ErasureConfirmations::new(secret, Duration::from_secs(60));
        assert!(confirmations.verify(&token, &tenant("acme")).is_err());
        let (confirmation, _) = confirmations.mint(&tenant("acme"), "ops").unwrap();
        assert!(auth.authenticate(&confirmation).is_err());
    }
}
