//! The node's log filter, read and changed while it runs (admin token only):
//! `GET /v1/admin/log-filter` and `PUT /v1/admin/log-filter` with `{"filter": "info,tally_cluster=debug"}`.
//! The change applies to this node only, until it restarts (then `log.filter` applies again).

use axum::Json;
use tally_protocol::ErrorCode;
use tally_protocol::api::LogFilter;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Principal;
use crate::error::{ApiError, ApiJson};
use crate::logging::{self, LogFilterError};
use crate::state::AppState;

/// Log filter routes, each with its description.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(current, replace))
}

fn no_filter() -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        "this process has no reloadable log filter",
    )
}

/// The log filter in force on this node.
#[utoipa::path(
    get,
    path = "/v1/admin/log-filter",
    tag = "operations",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The filter in force", body = LogFilter),
        crate::openapi::NodeLookupErrors,
    )
)]
async fn current(principal: Principal) -> Result<Json<LogFilter>, ApiError> {
    principal.require_superadmin()?;
    let filter = logging::current_filter().ok_or_else(no_filter)?;
    Ok(Json(LogFilter { filter }))
}

/// Replaces this node's log filter until it restarts; 400 `invalid_request` for a directive that
/// does not parse (the old filter stays).
#[utoipa::path(
    put,
    path = "/v1/admin/log-filter",
    tag = "operations",
    security(("admin_token" = [])),
    request_body = LogFilter,
    responses(
        (status = 200, description = "The filter now in force", body = LogFilter),
        crate::openapi::AdminErrors,
    )
)]
async fn replace(
    principal: Principal,
    ApiJson(request): ApiJson<LogFilter>,
) -> Result<Json<LogFilter>, ApiError> {
    principal.require_superadmin()?;
    match logging::set_filter(&request.filter) {
        Ok(filter) => Ok(Json(LogFilter { filter })),
        Err(err @ LogFilterError::Invalid { .. }) => {
            Err(ApiError::new(ErrorCode::InvalidRequest, err.to_string()))
        }
        Err(LogFilterError::NotInstalled) => Err(no_filter()),
    }
}
