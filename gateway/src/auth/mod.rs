//! Who is calling: the superadmin (admin token from the configuration) or a tenant principal
//! (a JWT with a tenant claim: HS256, RS256 or ES256, see `identity.rs`). Handlers check the
//! tenant where they read data.

mod identity;
mod jwks_url;
mod keys;
mod reload;
mod revocation;
mod secrets;

use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use tally_protocol::{ErrorCode, TenantId};

use crate::error::ApiError;
use crate::state::AppState;
use identity::FetchedKeys;
use reload::KeySources;

pub use identity::{Audience, Claims, Identity};
pub(crate) use jwks_url::refresh_jwks_every;
pub use keys::{SENSOR_KEY_PREFIX, hash_key, new_sensor_key, random_secret, secrets_equal};
pub(crate) use reload::reload_on_sighup;
pub(crate) use revocation::revoked;
pub use revocation::{IssuedToken, Revocations};
pub(crate) use secrets::NodeSecrets;

pub use tally_protocol::api::Role;

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// Holder of the node's admin token: every tenant.
    SuperAdmin,
    /// Holder of a JWT of one tenant.
    Tenant {
        /// The tenant.
        tenant: TenantId,
        /// The role.
        role: Role,
        /// Token expiry, seconds since the epoch.
        exp: u64,
        /// Issued at, seconds since the epoch.
        iat: u64,
        /// The token's id, if it has one.
        jti: Option<String>,
    },
}

impl Principal {
    /// What a revocation can name of the caller's token (`None` for the admin token).
    pub fn issued_token(&self) -> Option<IssuedToken> {
        match self {
            Self::SuperAdmin => None,
            Self::Tenant {
                tenant, iat, jti, ..
            } => Some(IssuedToken {
                tenant: tenant.clone(),
                iat: *iat,
                jti: jti.clone(),
            }),
        }
    }

    /// Allows reading `tenant`'s data. Another tenant's data answers `not_found` for `what`,
    /// exactly as if it did not exist.
    ///
    /// # Errors
    /// `not_found` naming `what`.
    pub fn require_read(
        &self,
        tenant: &TenantId,
        what: (&str, &dyn std::fmt::Display),
    ) -> Result<(), ApiError> {
        match self {
            Self::SuperAdmin => Ok(()),
            Self::Tenant { tenant: own, .. } if own == tenant => Ok(()),
            Self::Tenant { .. } => Err(ApiError::not_found(what.0, what.1).denied()),
        }
    }

    /// Allows managing `tenant`'s registry.
    ///
    /// # Errors
    /// `not_found` for another tenant, `forbidden` for a viewer.
    pub fn require_admin(&self, tenant: &TenantId) -> Result<(), ApiError> {
        self.require_read(tenant, ("tenant", tenant))?;
        match self {
            Self::Tenant {
                role: Role::Viewer, ..
            } => Err(ApiError::new(
                ErrorCode::Forbidden,
                "a viewer token cannot change the registry",
            )),
            _ => Ok(()),
        }
    }

    /// Allows node-wide operations (creating and listing tenants).
    ///
    /// # Errors
    /// `forbidden` unless the caller holds the admin token.
    pub fn require_superadmin(&self) -> Result<(), ApiError> {
        match self {
            Self::SuperAdmin => Ok(()),
            Self::Tenant { .. } => Err(ApiError::new(
                ErrorCode::Forbidden,
                "this operation needs the node's admin token",
            )),
        }
    }
}

/// Verifies admin tokens and JWTs, and mints JWTs.
#[derive(Clone)]
pub struct Authenticator {
    admin_token: String,
    metrics_token: String,
    jwt_secret: String,
    /// The keys in force: the configured ones and the last good JWKS of `auth.jwks_url`.
    /// Shared by clones, so a reload reaches every holder.
    identity: Arc<RwLock<Arc<Identity>>>,
    /// What [`Authenticator::identity`] was merged from, so that reloading one source keeps
    /// the other's keys.
    sources: Arc<Mutex<KeySources>>,
    /// `auth.jwks_url`, when set.
    jwks: Option<Arc<jwks_url::JwksSource>>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Authenticator(<redacted>)")
    }
}

/// Seconds since the epoch.
pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Authenticator {
    /// An authenticator for the node's admin token and JWT secret (no scrape token but the
    /// admin token; see [`Authenticator::with_metrics_token`]).
    pub fn new(admin_token: &str, jwt_secret: &str) -> Self {
        let identity = Identity::hs256(jwt_secret);
        Self {
            admin_token: admin_token.to_owned(),
            metrics_token: admin_token.to_owned(),
            jwt_secret: jwt_secret.to_owned(),
            identity: Arc::new(RwLock::new(Arc::new(identity.clone()))),
            sources: Arc::new(Mutex::new(KeySources {
                configured: identity,
                fetched: FetchedKeys::default(),
            })),
            jwks: None,
        }
    }

    /// Verifies and mints tenant JWTs as `identity` says (keys, issuer, audience, leeway),
    /// forgetting any keys fetched from a JWKS URL so far.
    pub fn with_identity(self, identity: Identity) -> Self {
        *self.sources.lock().unwrap_or_else(PoisonError::into_inner) = KeySources {
            configured: identity.clone(),
            fetched: FetchedKeys::default(),
        };
        *self
            .identity
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(identity);
        self
    }

    fn identity(&self) -> Arc<Identity> {
        Arc::clone(&self.identity.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Also accepts `metrics_token` for the Prometheus scrape of `/metrics`.
    pub fn with_metrics_token(mut self, metrics_token: &str) -> Self {
        metrics_token.clone_into(&mut self.metrics_token);
        self
    }

    /// Whether `credential` may scrape `/metrics`: the scrape token or the admin token.
    pub fn may_scrape(&self, credential: &str) -> bool {
        secrets_equal(credential, &self.metrics_token)
            || secrets_equal(credential, &self.admin_token)
    }

    /// Authenticates a bearer credential.
    ///
    /// # Errors
    /// `token_expired` or `unauthenticated`.
    pub fn authenticate(&self, credential: &str) -> Result<Principal, ApiError> {
        if secrets_equal(credential, &self.admin_token) {
            return Ok(Principal::SuperAdmin);
        }
        self.authenticate_jwt(credential)
    }

    /// Authenticates a tenant JWT only (never the admin token).
    ///
    /// # Errors
    /// `token_expired` or `unauthenticated`.
    pub fn authenticate_jwt(&self, credential: &str) -> Result<Principal, ApiError> {
        let claims = self.identity().verify(credential)?;
        Ok(Principal::Tenant {
            tenant: claims.tenant,
            role: claims.role,
            exp: claims.exp,
            iat: claims.iat,
            jti: claims.jti,
        })
    }

    /// Mints an HS256 JWT for a tenant, with a fresh `jti`, issued now but no earlier than
    /// `issued_at_least` (the tenant's revocation mark, so that a token minted right after a
    /// revocation is not revoked by it). Returns the token, its expiry and its id.
    ///
    /// # Errors
    /// `forbidden` if this node does not mint (`auth.jwt_hs256 = false`), `internal` if signing
    /// fails.
    pub fn mint(
        &self,
        tenant: TenantId,
        role: Role,
        subject: String,
        ttl: Duration,
        issued_at_least: u64,
    ) -> Result<MintedJwt, ApiError> {
        let now = now_secs();
        let iat = now.max(issued_at_least);
        let exp = now + ttl.as_secs();
        let jti = random_secret();
        let claims = Claims {
            sub: subject,
            tenant,
            role,
            iat,
            exp,
            nbf: None,
            jti: Some(jti.clone()),
            iss: None,
            aud: None,
        };
        Ok(MintedJwt {
            token: self.identity().mint(claims)?,
            exp,
            jti,
        })
    }
}

/// A JWT minted by [`Authenticator::mint`].
#[derive(Debug, Clone)]
pub struct MintedJwt {
    /// The token.
    pub token: String,
    /// Its expiry, seconds since the epoch.
    pub exp: u64,
    /// Its id (`jti`), by which it can be revoked.
    pub jti: String,
}

/// The bearer credential of a request's `Authorization: Bearer …` header. Credentials are never
/// taken from the query string, where they would land in logs and proxies; the one exception is
/// [`DisplayViewer`].
pub fn bearer_credential(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(|token| token.trim().to_owned())
}

/// The `access_token` query parameter.
fn query_credential(parts: &Parts) -> Option<String> {
    parts.uri.query().and_then(|query| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix("access_token=").map(str::to_owned))
    })
}

fn missing_credential() -> ApiError {
    ApiError::new(
        ErrorCode::Unauthenticated,
        "missing bearer token (Authorization: Bearer <token>)",
    )
}

/// Authenticates the request's bearer credential and counts the request against its tenant's
/// API rate (`quotas.api_requests_per_second`).
impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let credential = bearer_credential(parts).ok_or_else(missing_credential)?;
        state.auth.refresh_for_unknown_key(&credential).await;
        let principal = state.auth.authenticate(&credential)?;
        crate::audit::note_principal(&principal);
        if let Some(token) = principal.issued_token() {
            state.revocations.check(&token).await?;
        }
        state.quotas.admit_request(&principal).await?;
        Ok(principal)
    }
}

/// A caller allowed to scrape `/metrics` (which names every tenant and its volume): the
/// Prometheus scrape token or the admin token, in the `Authorization` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsScraper;

impl<S> FromRequestParts<S> for MetricsScraper
where
    S: Send + Sync,
    Arc<Authenticator>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let credential = bearer_credential(parts).ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unauthenticated,
                "metrics need the scrape token (Authorization: Bearer <auth.metrics_token>)",
            )
        })?;
        if Arc::<Authenticator>::from_ref(state).may_scrape(&credential) {
            Ok(Self)
        } else {
            Err(ApiError::new(
                ErrorCode::Forbidden,
                "metrics need the scrape token or the admin token",
            ))
        }
    }
}

/// The tenant principal of a display WebSocket. Browsers cannot set headers on a WebSocket, so
/// its tenant JWT may also come in the `access_token` query parameter; the admin token is never
/// accepted there (nor is it a display's credential anywhere).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayViewer {
    /// The viewer's token, as a revocation names it (its tenant, issue time and id).
    pub token: IssuedToken,
    /// Token expiry, seconds since the epoch.
    pub exp: u64,
}

/// Counts the connect against its tenant's API rate, like any request.
impl FromRequestParts<AppState> for DisplayViewer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let auth = &state.auth;
        let principal = match (bearer_credential(parts), query_credential(parts)) {
            (Some(header), _) => {
                auth.refresh_for_unknown_key(&header).await;
                auth.authenticate(&header)?
            }
            (None, Some(query)) => {
                auth.refresh_for_unknown_key(&query).await;
                auth.authenticate_jwt(&query)?
            }
            (None, None) => {
                return Err(ApiError::new(
                    ErrorCode::Unauthenticated,
                    "missing tenant token (Authorization header or access_token query parameter)",
                ));
            }
        };
        crate::audit::note_principal(&principal);
        if let Some(token) = principal.issued_token() {
            state.revocations.check(&token).await?;
        }
        state.quotas.admit_request(&principal).await?;
        match principal {
            Principal::Tenant {
                tenant,
                exp,
                iat,
                jti,
                ..
            } => Ok(Self {
                token: IssuedToken { tenant, iat, jti },
                exp,
            }),
            Principal::SuperAdmin => Err(ApiError::new(
                ErrorCode::Forbidden,
                "displays connect with a tenant token (POST /v1/tenants/{tenant}/tokens)",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(id: &str) -> TenantId {
        TenantId::new(id).unwrap()
    }

    #[test]
    fn admin_token_and_jwts() {
        let auth = Authenticator::new(
            "admin-token-0123456789",
            "a-jwt-secret-of-at-least-32-bytes!!",
        );
        assert_eq!(
            auth.authenticate("admin-token-0123456789").unwrap(),
            Principal::SuperAdmin
        );
        let token = auth
            .mint(
                tenant("acme"),
                Role::Viewer,
                "wall".into(),
                Duration::from_secs(60),
                0,
            )
            .unwrap()
            .token;
        let principal = auth.authenticate(&token).unwrap();
        assert!(
            matches!(&principal, Principal::Tenant { tenant: t, role: Role::Viewer, .. } if t.as_str() == "acme")
        );
        assert!(
            principal
                .require_read(&tenant("acme"), ("office", &"hq"))
                .is_ok()
        );
        assert_eq!(
            principal
                .require_read(&tenant("other"), ("office", &"hq"))
                .unwrap_err()
                .code,
            ErrorCode::NotFound
        );
        assert_eq!(
            principal.require_admin(&tenant("acme")).unwrap_err().code,
            ErrorCode::Forbidden
        );
        let forged = Authenticator::new(
            "x-admin-token-0123456789",
            "another-secret-of-at-least-32-bytes!",
        );
        assert_eq!(
            forged.authenticate(&token).unwrap_err().code,
            ErrorCode::Unauthenticated
        );
    }

    #[test]
    fn expired_token_is_reported_as_such() {
        let auth = Authenticator::new(
            "admin-token-0123456789",
            "a-jwt-secret-of-at-least-32-bytes!!",
        );
        let claims = Claims {
            sub: "x".into(),
            tenant: tenant("acme"),
            role: Role::Viewer,
            iat: 1,
            exp: 2,
            nbf: None,
            jti: None,
            iss: None,
            aud: None,
        };
        let token = auth.identity().mint(claims).unwrap();
        assert_eq!(
            auth.authenticate(&token).unwrap_err().code,
            ErrorCode::TokenExpired
        );
    }
}
