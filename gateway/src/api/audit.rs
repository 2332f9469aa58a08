//! Reading the audit log: a tenant's admins read their tenant's log
//! (`GET /v1/tenants/{tenant}/audit`), the platform admin any tenant's or the platform's own
//! (`GET /v1/admin/audit`). Pages are newest first, with a cursor.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Serialize;
use tally_protocol::api::AuditQuery;
use tally_protocol::{ErrorCode, TenantId};
use tally_storage::{AuditEntry, AuditScope, PageRequest, TimeRange};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Principal, Role};
use crate::error::{ApiError, ApiPath};
use crate::state::AppState;

/// One page of an audit log, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct AuditPageView {
    /// The entries.
    entries: Vec<AuditEntry>,
    /// The `cursor` of the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

/// Reads one page of `scope`'s log as `query` asks.
async fn read_page(
    state: &AppState,
    scope: &AuditScope,
    query: AuditQuery,
) -> Result<Json<AuditPageView>, ApiError> {
    let page = query.page()?;
    let stored = state
        .store
        .audit(
            scope,
            TimeRange {
                from: page.from,
                to: page.to,
            },
            PageRequest {
                after: page.cursor,
                limit: page.limit,
            },
        )
        .await?;
    Ok(Json(AuditPageView {
        entries: stored.items,
        next: stored.next,
    }))
}

/// The audit log of a tenant, newest first: admin changes, tokens minted and revoked,
/// erasure, and every refused access by the tenant's principals. A tenant's admins (and the
/// platform admin) only; a viewer is forbidden; another tenant's log answers as missing.
#[utoipa::path(
    get,
    path = "/v1/tenants/{tenant}/audit",
    tag = "audit",
    params(crate::openapi::TenantPath, AuditQuery),
    security(("tenant_jwt" = []), ("admin_token" = [])),
    responses(
        (status = 200, description = "One page of entries", body = AuditPageView),
        crate::openapi::AdminErrors,
    )
)]
async fn tenant_audit(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<TenantId>,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<AuditPageView>, ApiError> {
    principal.require_read(&tenant, ("tenant", &tenant))?;
    if let Principal::Tenant {
        role: Role::Viewer, ..
    } = principal
    {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "the audit log needs a tenant admin token",
        ));
    }
    let Query(query) = query?;
    if query.tenant.is_some() {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "tenant is a parameter of /v1/admin/audit only",
        ));
    }
    if state.store.tenant(&tenant).await?.is_none() {
        return Err(ApiError::not_found("tenant", &tenant));
    }
    read_page(&state, &AuditScope::Tenant(tenant), query).await
}

/// Any audit log, for the platform admin: a tenant's (`tenant`, also after its erasure) or
/// the platform's own (without `tenant`: the platform admin's node-wide actions and refused
/// callers that are no tenant's principal).
#[utoipa::path(
    get,
    path = "/v1/admin/audit",
    tag = "audit",
    params(AuditQuery),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "One page of entries", body = AuditPageView),
        crate::openapi::AdminErrors,
    )
)]
async fn platform_audit(
    State(state): State<AppState>,
    principal: Principal,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<AuditPageView>, ApiError> {
    principal.require_superadmin()?;
    let Query(query) = query?;
    let scope = AuditScope::of(query.tenant.as_ref());
    read_page(&state, &scope, query).await
}

/// The audit routes.
pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(tenant_audit))
        .routes(routes!(platform_audit))
}
