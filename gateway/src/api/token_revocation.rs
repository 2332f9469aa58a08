//! Revoking tenant JWTs, by the tenant's admins or the platform admin:
//! `POST /v1/tenants/{tenant}/tokens/revoke-before` (every token issued before a time) and
//! `POST /v1/tenants/{tenant}/tokens/revoke` (one token by its id). Both are stored in the
//! registry and checked wherever a tenant JWT is accepted (`auth/revocation.rs`): on this node
//! at once, on the others within `auth.revocation_refresh`; open display sockets of a revoked
//! token close with 4401 `unauthenticated: the token has been revoked` in that time too.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use tally_protocol::TenantId;
use tally_protocol::api::{RevokeBefore, RevokeToken};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Principal, now_secs};
use crate::error::{ApiError, ApiJson, ApiPath};
use crate::state::AppState;

/// The token revocation routes, with their description.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(revoke_before))
        .routes(routes!(revoke_token))
}

/// The revocation mark in force.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct RevokedBefore {
    /// Every token of the tenant issued before this time (milliseconds since the epoch, a
    /// whole second: token issue times are seconds) is invalid.
    issued_before: u64,
}

/// Revokes every token of the tenant issued before a time (now by default), the caller's own
/// token among them when it is a tenant admin's. Tokens minted after the call are valid. The
/// mark only rises: an earlier time than the one in force changes nothing.
#[utoipa::path(
    post,
    path = "/v1/tenants/{tenant}/tokens/revoke-before",
    tag = "registry",
    params(crate::openapi::TenantPath),
    request_body = RevokeBefore,
    security(("tenant_jwt" = []), ("admin_token" = [])),
    responses(
        (status = 200, description = "The mark in force", body = RevokedBefore),
        crate::openapi::AdminBodyErrors,
    )
)]
async fn revoke_before(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<TenantId>,
    ApiJson(body): ApiJson<RevokeBefore>,
) -> Result<Json<RevokedBefore>, ApiError> {
    principal.require_admin(&tenant)?;
    let before = body.issued_before_secs(now_secs() * 1000 + 999)?;
    let mark = state
        .revocations
        .revoke_issued_before(&tenant, before)
        .await?;
    tracing::info!(%tenant, issued_before = mark, "tokens revoked");
    state.audit.record(
        "tokens.revoked_before",
        Some(&tenant),
        format!("tokens issued before {mark}s"),
    );
    Ok(Json(RevokedBefore {
        issued_before: mark * 1000,
    }))
}

/// Revokes one token of the tenant by its id.
#[utoipa::path(
    post,
    path = "/v1/tenants/{tenant}/tokens/revoke",
    tag = "registry",
    params(crate::openapi::TenantPath),
    request_body = RevokeToken,
    security(("tenant_jwt" = []), ("admin_token" = [])),
    responses(
        (status = 204, description = "The token is revoked"),
        crate::openapi::AdminBodyErrors,
    )
)]
async fn revoke_token(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<TenantId>,
    ApiJson(body): ApiJson<RevokeToken>,
) -> Result<StatusCode, ApiError> {
    principal.require_admin(&tenant)?;
    let default_expiry = Duration::from_secs(now_secs()) + state.settings.auth.token_ttl;
    let expires_at = body.expires_at_secs(default_expiry.as_secs())?;
    state
        .revocations
        .revoke_token(&tenant, &body.id, expires_at)
        .await?;
    tracing::info!(%tenant, token_id = %body.id, "token revoked");
    state
        .audit
        .record("token.revoked", Some(&tenant), format!("token {}", body.id));
    Ok(StatusCode::NO_CONTENT)
}
