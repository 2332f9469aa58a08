//! `POST /v1/admin/auth/reload-keys` (admin token): re-reads the JWT public keys of
//! `auth.jwt_keys_dir` and `auth.jwks_file` and fetches `auth.jwks_url` again, so an identity provider's key can be rotated
//! without a restart (SIGHUP does the same).

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use tally_protocol::ErrorCode;

use crate::auth::Principal;
use crate::error::ApiError;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// The JWT key routes, with their description.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(reload_keys))
}

/// The key ids trusted after a reload.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ReloadedKeys {
    key_ids: Vec<String>,
}

/// Re-reads the JWT public keys (`auth.jwt_keys_dir`, `auth.jwks_file`, `auth.jwks_url`): 200
/// with the key ids now trusted; 400 `invalid_request` naming the bad file (or the URL that could
/// not be fetched) when the keys cannot be read, and then the keys in use stay.
#[utoipa::path(
    post,
    path = "/v1/admin/auth/reload-keys",
    tag = "operations",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The key ids trusted now", body = ReloadedKeys),
        crate::openapi::NodeActionErrors,
    )
)]
async fn reload_keys(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<ReloadedKeys>, ApiError> {
    principal.require_superadmin()?;
    let key_ids = state
        .auth
        .reload_identity(&state.settings.auth)
        .await
        .map_err(|err| {
            ApiError::new(
                ErrorCode::InvalidRequest,
                format!("keys not reloaded, the keys in use stay: {err:#}"),
            )
        })?;
    tracing::info!(?key_ids, "reloaded JWT keys (admin API)");
    state.audit.record(
        "identity.keys_reloaded",
        None,
        format!("key ids {key_ids:?}"),
    );
    Ok(Json(ReloadedKeys { key_ids }))
}
