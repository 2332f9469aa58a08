//! Erasure of a tenant (GDPR) by the platform admin, in two steps, and its audit record:
//!
//! 1. `POST /v1/admin/tenants/{tenant}/erasure` with `{"requested_by": "…"}` answers a
//!    confirmation token valid for `retention.erasure_confirm_ttl`; nothing happens yet.
//! 2. `POST /v1/admin/tenants/{tenant}/erasure/confirm` with `{"confirmation": "…"}` erases:
//!    the tenant is retired on the node, and in a cluster on every member (never activated again: its sensors and readers get
//!    `not_found`, its actors stop after finishing what they were sent and their writes are
//!    durable), then the store marks it erased, deletes every row of it and reads back that
//!    nothing remains. The answer is the audit record.
//!
//! `GET /v1/admin/tenants/{tenant}/erasure` reads the audit record (who, when, what was
//! deleted), which survives the erasure. A tenant that was never there is `not_found` at every
//! step; a tenant whose erasure was asked before (finished, or cut short by a crash) can be
//! erased again, which finishes the work and keeps the first request's audit data.

mod confirmation;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use tally_protocol::api::{ErasureConfirmation, ErasureRequest};
use tally_protocol::{TenantId, now_ms};
use tally_storage::ErasureReport;

pub(crate) use confirmation::ErasureConfirmations;

use crate::auth::Principal;
use crate::error::{ApiError, ApiJson, ApiPath};
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Erasure routes (admin token only).
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(request_erasure, audit_record))
        .routes(routes!(confirm_erasure))
}

/// The answer to an erasure request: what confirms it, until when.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct PendingErasure {
    /// The tenant to erase.
    tenant: TenantId,
    /// The token to send to the confirm route.
    confirmation: String,
    /// Expiry of the confirmation, milliseconds since the epoch.
    expires_at: u64,
    /// Where to send it.
    confirm_with: String,
}

/// `not_found` unless the tenant exists or its erasure was asked before (then it is resumed).
async fn erasable(state: &AppState, tenant: &TenantId) -> Result<(), ApiError> {
    if state.store.tenant(tenant).await?.is_some() || state.store.erasure(tenant).await?.is_some() {
        Ok(())
    } else {
        Err(ApiError::not_found("tenant", tenant))
    }
}

/// Asks for the erasure of a tenant: answers the confirmation token; nothing is erased yet.
#[utoipa::path(
    post,
    path = "/v1/admin/tenants/{tenant}/erasure",
    tag = "erasure",
    params(crate::openapi::TenantPath),
    request_body = ErasureRequest,
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The confirmation token and its expiry", body = PendingErasure),
        crate::openapi::AdminBodyErrors,
    )
)]
async fn request_erasure(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<TenantId>,
    ApiJson(body): ApiJson<ErasureRequest>,
) -> Result<Json<PendingErasure>, ApiError> {
    principal.require_superadmin()?;
    let requested_by = body.requested_by()?;
    erasable(&state, &tenant).await?;
    let (confirmation, expires_at) = state.erasure.mint(&tenant, requested_by)?;
    tracing::warn!(tenant = %tenant, requested_by, "erasure of a tenant requested; awaiting confirmation");
    state.audit.record(
        "erasure.requested",
        Some(&tenant),
        format!("requested by {requested_by}"),
    );
    Ok(Json(PendingErasure {
        confirm_with: format!("POST /v1/admin/tenants/{tenant}/erasure/confirm"),
        tenant,
        confirmation,
        expires_at,
    }))
}

/// Erases a tenant, confirmed by the token of its erasure request; answers the audit record.
#[utoipa::path(
    post,
    path = "/v1/admin/tenants/{tenant}/erasure/confirm",
    tag = "erasure",
    params(crate::openapi::TenantPath),
    request_body = ErasureConfirmation,
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Erased and verified empty: the audit record", body = ErasureReport),
        crate::openapi::AdminBodyErrors,
    )
)]
async fn confirm_erasure(
    State(state): State<AppState>,
    principal: Principal,
    headers: axum::http::HeaderMap,
    ApiPath(tenant): ApiPath<TenantId>,
    ApiJson(body): ApiJson<ErasureConfirmation>,
) -> Result<Json<ErasureReport>, ApiError> {
    principal.require_superadmin()?;
    let claims = state.erasure.verify(&body.confirmation, &tenant)?;
    erasable(&state, &tenant).await?;
    // Nothing of the tenant is accepted from here on, and nothing of it is written after the
    // store marks it erased (a write of an erased tenant would fail its whole group commit).
    // In a cluster, on every node: the erasure waits for all of them.
    super::cluster::retire_everywhere(&state, &headers, &tenant).await?;
    let report = state
        .store
        .erase_tenant(&tenant, &claims.requested_by, now_ms())
        .await?;
    tracing::warn!(
        tenant = %tenant,
        requested_by = %report.requested_by,
        readings = report.deleted.readings,
        rollups = report.deleted.rollups,
        room_states = report.deleted.room_states,
        registry = report.deleted.registry,
        "tenant erased and verified empty"
    );
    state.audit.record(
        "erasure.completed",
        Some(&tenant),
        format!("requested by {}, verified empty", report.requested_by),
    );
    Ok(Json(report))
}

/// Reads the audit record of a tenant's erasure, which survives the erasure.
#[utoipa::path(
    get,
    path = "/v1/admin/tenants/{tenant}/erasure",
    tag = "erasure",
    params(crate::openapi::TenantPath),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The audit record", body = ErasureReport),
        crate::openapi::AdminErrors,
    )
)]
async fn audit_record(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<TenantId>,
) -> Result<Json<ErasureReport>, ApiError> {
    principal.require_superadmin()?;
    state
        .store
        .erasure(&tenant)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("erasure of tenant", &tenant))
}
