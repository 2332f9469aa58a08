//! Tenant admin actions across the cluster. Quarantine and retirement are states of each
//! node's actors, so an action asked of one node is done there and then asked of every other
//! member ([`super::fan_out`]):
//!
//! - lifting a quarantine (`DELETE /v1/tenants/{tenant}/quarantine`): [`release_everywhere`];
//! - retiring a tenant before its erasure is written to the store: [`retire_everywhere`];
//! - `GET /v1/admin/cluster/quarantined`: the tenants each node holds in quarantine.
//!
//! The routes under `/v1/admin/cluster/local/` act on the answering node only: they are what
//! the other members call (admin token, like every admin route).

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, Method};
use serde::{Deserialize, Serialize};
use tally_protocol::TenantId;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{cluster_of, fan_out};
use crate::auth::Principal;
use crate::error::{ApiError, ApiPath};
use crate::state::AppState;

/// The node-local tenant routes and the cluster-wide quarantine listing.
pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(release_here))
        .routes(routes!(retire_here))
        .routes(routes!(quarantined_here))
        .routes(routes!(quarantined_everywhere))
}

/// Lifts `tenant`'s quarantine on this node and on every other member; `true` if any node
/// held it in quarantine.
///
/// # Errors
/// As the router on this node; `unavailable` naming the members that did not answer (the
/// release is idempotent: asking again finishes it).
pub(crate) async fn release_everywhere(
    state: &AppState,
    headers: &HeaderMap,
    tenant: &TenantId,
) -> Result<bool, ApiError> {
    let here = state.router.release_tenant(tenant).await?;
    let Some(cluster) = state.cluster.clone() else {
        return Ok(here);
    };
    let path = format!("/v1/admin/cluster/local/tenants/{tenant}/release");
    let others: Vec<(String, Released)> =
        fan_out::every_other_member(state, &cluster, headers, (Method::POST, path.as_str()))
            .await?;
    Ok(here || others.iter().any(|(_, answer)| answer.released))
}

/// Retires `tenant` on this node and on every other member: when this returns, no node
/// serves it any more and its last writes are durable everywhere.
///
/// # Errors
/// As the router on this node; `unavailable` naming the members that did not answer
/// (retiring is idempotent: asking again finishes it).
pub(crate) async fn retire_everywhere(
    state: &AppState,
    headers: &HeaderMap,
    tenant: &TenantId,
) -> Result<(), ApiError> {
    state.router.retire_tenant(tenant).await?;
    let Some(cluster) = state.cluster.clone() else {
        return Ok(());
    };
    let path = format!("/v1/admin/cluster/local/tenants/{tenant}/retire");
    let _: Vec<(String, Retired)> =
        fan_out::every_other_member(state, &cluster, headers, (Method::POST, path.as_str()))
            .await?;
    Ok(())
}

/// Whether a node held a tenant in quarantine before it lifted it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
struct Released {
    /// The node that answered.
    node: String,
    /// Whether the tenant was quarantined there.
    released: bool,
}

/// A node that retired a tenant.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
struct Retired {
    /// The node that answered: the tenant's actors there have stopped.
    node: String,
}

/// The tenants one node holds in quarantine.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
struct Quarantined {
    /// The node that answered.
    node: String,
    /// Its quarantined tenants.
    tenants: Vec<String>,
}

/// The quarantined tenants of every node (`GET /v1/admin/cluster/quarantined`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct QuarantinedEverywhere {
    /// Quarantined tenants by node id (every member, an empty list where none is).
    nodes: BTreeMap<String, Vec<String>>,
}

/// Lifts a tenant's quarantine on this node only (what the other members call).
#[utoipa::path(
    post,
    path = "/v1/admin/cluster/local/tenants/{tenant}/release",
    tag = "cluster",
    params(crate::openapi::TenantPath),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Whether it was quarantined on this node", body = Released),
        crate::openapi::AdminErrors,
    )
)]
async fn release_here(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<TenantId>,
) -> Result<Json<Released>, ApiError> {
    principal.require_superadmin()?;
    let cluster = cluster_of(&state)?;
    let released = state.router.release_tenant(&tenant).await?;
    Ok(Json(Released {
        node: cluster.node_id().to_owned(),
        released,
    }))
}

/// Retires a tenant on this node only (what the other members call before an erasure);
/// answers once its actors here have stopped and their writes are durable.
#[utoipa::path(
    post,
    path = "/v1/admin/cluster/local/tenants/{tenant}/retire",
    tag = "cluster",
    params(crate::openapi::TenantPath),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Retired on this node", body = Retired),
        crate::openapi::AdminErrors,
    )
)]
async fn retire_here(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<TenantId>,
) -> Result<Json<Retired>, ApiError> {
    principal.require_superadmin()?;
    let cluster = cluster_of(&state)?;
    state.router.retire_tenant(&tenant).await?;
    Ok(Json(Retired {
        node: cluster.node_id().to_owned(),
    }))
}

/// The tenants this node holds in quarantine (what the other members call).
#[utoipa::path(
    get,
    path = "/v1/admin/cluster/local/quarantined",
    tag = "cluster",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "This node's quarantined tenants", body = Quarantined),
        crate::openapi::NodeLookupErrors,
    )
)]
async fn quarantined_here(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Quarantined>, ApiError> {
    principal.require_superadmin()?;
    let cluster = cluster_of(&state)?;
    Ok(Json(Quarantined {
        node: cluster.node_id().to_owned(),
        tenants: names(&state.router.quarantined().await?),
    }))
}

/// The tenants every node holds in quarantine; `unavailable` naming the nodes that did not
/// answer. A node that runs alone answers for itself (it is the whole of its cluster).
#[utoipa::path(
    get,
    path = "/v1/admin/cluster/quarantined",
    tag = "cluster",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Quarantined tenants by node", body = QuarantinedEverywhere),
        crate::openapi::NodeLookupErrors,
    )
)]
async fn quarantined_everywhere(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
) -> Result<Json<QuarantinedEverywhere>, ApiError> {
    principal.require_superadmin()?;
    let here = names(&state.router.quarantined().await?);
    let Some(cluster) = state.cluster.clone() else {
        let node = state.settings.node.node_id.clone();
        return Ok(Json(QuarantinedEverywhere {
            nodes: BTreeMap::from([(node, here)]),
        }));
    };
    let path = "/v1/admin/cluster/local/quarantined";
    let others: Vec<(String, Quarantined)> =
        fan_out::every_other_member(&state, &cluster, &headers, (Method::GET, path)).await?;
    let mut nodes = BTreeMap::from([(cluster.node_id().to_owned(), here)]);
    nodes.extend(others.into_iter().map(|(id, answer)| (id, answer.tenants)));
    Ok(Json(QuarantinedEverywhere { nodes }))
}

/// Tenant ids as text, in order.
fn names(tenants: &BTreeSet<TenantId>) -> Vec<String> {
    tenants.iter().map(ToString::to_string).collect()
}
