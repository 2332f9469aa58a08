//! Retention of a tenant's readings and rollups, and retention sweeps:
//!
//! - `GET /v1/tenants/{tenant}/retention` (the tenant's admin, or the admin token): the policy
//!   in force, the tenant's own override (or `null`) and the node's defaults
//!   (`[retention]`).
//! - `PUT /v1/tenants/{tenant}/retention` with every duration (`readings`, `minute`,
//!   `fifteen_minutes`, `hour`, `day`, as "30days", "12h", …): sets the tenant's override.
//! - `DELETE /v1/tenants/{tenant}/retention`: back to the node's defaults.
//! - `POST /v1/admin/retention/sweep` (admin token): runs one sweep now and answers what it
//!   deleted; sweeps also run every `retention.sweep_interval`.
//!
//! Another tenant's retention answers `not_found`, exactly like a missing tenant's.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use tally_config::format_duration;
use tally_protocol::TenantId;
use tally_storage::{RetentionPolicy, RetentionReport};

use crate::auth::Principal;
use crate::error::{ApiError, ApiJson, ApiPath};
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Retention routes.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_retention, put_retention, clear_retention))
        .routes(routes!(sweep_now))
}

/// A tenant's retention as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct RetentionView {
    tenant: TenantId,
    /// What the sweeps apply to the tenant: its override, else the defaults.
    effective: PolicyView,
    /// The tenant's own policy, if it has one.
    #[serde(rename = "override")]
    own: Option<PolicyView>,
    /// The node's defaults (`[retention]`).
    defaults: PolicyView,
}

/// A [`RetentionPolicy`] with each duration in its largest exact unit ("720h", "90m"), as the
/// configuration reference writes durations; PUT accepts any humantime text.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct PolicyView {
    /// Raw readings.
    #[schema(example = "720h")]
    readings: String,
    /// Minute rollups.
    minute: String,
    /// Fifteen-minute rollups.
    fifteen_minutes: String,
    /// Hourly rollups.
    hour: String,
    /// Daily rollups.
    day: String,
}

impl From<RetentionPolicy> for PolicyView {
    fn from(policy: RetentionPolicy) -> Self {
        Self {
            readings: format_duration(policy.readings),
            minute: format_duration(policy.minute),
            fifteen_minutes: format_duration(policy.fifteen_minutes),
            hour: format_duration(policy.hour),
            day: format_duration(policy.day),
        }
    }
}

/// The view of `tenant`'s retention after checking the caller may manage it and it exists.
async fn view(
    state: &AppState,
    principal: &Principal,
    tenant: TenantId,
) -> Result<RetentionView, ApiError> {
    principal.require_admin(&tenant)?;
    if state.store.tenant(&tenant).await?.is_none() {
        return Err(ApiError::not_found("tenant", &tenant));
    }
    let own = state.store.retention(&tenant).await?;
    let defaults = tally_cluster::retention_defaults(&state.settings.retention);
    Ok(RetentionView {
        tenant,
        effective: own.unwrap_or(defaults).into(),
        own: own.map(PolicyView::from),
        defaults: defaults.into(),
    })
}

/// Reads a tenant's retention: in force, its own override and the node's defaults.
#[utoipa::path(
    get,
    path = "/v1/tenants/{tenant}/retention",
    tag = "retention",
    params(crate::openapi::TenantPath),
    security(("tenant_jwt" = []), ("admin_token" = [])),
    responses(
        (status = 200, description = "The tenant's retention", body = RetentionView),
        crate::openapi::AdminErrors,
    )
)]
async fn get_retention(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<TenantId>,
) -> Result<Json<RetentionView>, ApiError> {
    view(&state, &principal, tenant).await.map(Json)
}

/// Sets the tenant's own retention (every duration, as humantime text: "30days", "12h").
#[utoipa::path(
    put,
    path = "/v1/tenants/{tenant}/retention",
    tag = "retention",
    params(crate::openapi::TenantPath),
    request_body = RetentionPolicy,
    security(("tenant_jwt" = []), ("admin_token" = [])),
    responses(
        (status = 200, description = "The tenant's retention now", body = RetentionView),
        crate::openapi::AdminBodyErrors,
    )
)]
async fn put_retention(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<TenantId>,
    ApiJson(policy): ApiJson<RetentionPolicy>,
) -> Result<Json<RetentionView>, ApiError> {
    principal.require_admin(&tenant)?;
    policy.check()?;
    state.store.set_retention(&tenant, Some(&policy)).await?;
    tracing::info!(tenant = %tenant, ?policy, "tenant retention set");
    state
        .audit
        .record("retention.set", Some(&tenant), format!("{policy:?}"));
    view(&state, &principal, tenant).await.map(Json)
}

/// Drops the tenant's own retention: the node's defaults apply again.
#[utoipa::path(
    delete,
    path = "/v1/tenants/{tenant}/retention",
    tag = "retention",
    params(crate::openapi::TenantPath),
    security(("tenant_jwt" = []), ("admin_token" = [])),
    responses(
        (status = 200, description = "The tenant's retention now", body = RetentionView),
        crate::openapi::AdminErrors,
    )
)]
async fn clear_retention(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<TenantId>,
) -> Result<Json<RetentionView>, ApiError> {
    principal.require_admin(&tenant)?;
    state.store.set_retention(&tenant, None).await?;
    tracing::info!(tenant = %tenant, "tenant retention back to the defaults");
    state.audit.record(
        "retention.cleared",
        Some(&tenant),
        "back to the node's defaults",
    );
    view(&state, &principal, tenant).await.map(Json)
}

/// Runs one retention sweep over every tenant now.
#[utoipa::path(
    post,
    path = "/v1/admin/retention/sweep",
    tag = "retention",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "What the sweep deleted", body = RetentionReport),
        crate::openapi::NodeErrors,
    )
)]
async fn sweep_now(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<RetentionReport>, ApiError> {
    principal.require_superadmin()?;
    Ok(Json(state.sweeper.sweep_now().await?))
}
