//! The cluster as operators see it over HTTP (admin token only):
//!
//! - `GET /v1/admin/cluster`: the membership (epoch; each member's state, region, addresses,
//!   protocol version, heartbeat, and the offices it holds as published in its record), the id
//!   of the answering node and the offices it holds now.
//! - `POST /v1/admin/cluster/nodes/{id}/drain`: drains node `id`. Only a node can drain
//!   itself: asked for another member, this node forwards the request (with the caller's
//!   token) to that member's advertised HTTP address. The answer comes once the node holds no
//!   office (`drained: true`: it can be stopped), or after at most half of
//!   `http.request_timeout` with `drained: false` and what it still holds; asking again
//!   waits again (draining is idempotent).
//!
//! - Tenant actions that reach every node (`tenants.rs`, over `fan_out.rs`): lifting a
//!   quarantine, retiring a tenant for its erasure, and `GET /v1/admin/cluster/quarantined`.
//!
//! A node that runs alone answers `not_found` (there is no cluster).

mod fan_out;
mod tenants;

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use serde::{Deserialize, Serialize};
use tally_cluster::ClusterNode;
use tally_cluster::membership::MemberStatus;
use tally_protocol::ErrorCode;

use crate::auth::Principal;
use crate::error::{ApiError, ApiPath};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub(crate) use tenants::{release_everywhere, retire_everywhere};

/// Cluster admin routes, each with its description.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(status))
        .routes(routes!(drain))
        .merge(tenants::routes())
}

/// `GET /v1/admin/cluster`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct StatusView {
    /// The node that answered.
    node: String,
    /// Offices that node holds now.
    offices_held: usize,
    /// The membership epoch.
    epoch: u64,
    members: Vec<MemberView>,
}

/// One member in [`StatusView`].
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct MemberView {
    id: String,
    state: String,
    region: String,
    cluster_addr: String,
    http_addr: String,
    protocol_version: u32,
    heartbeating: bool,
    /// Offices the member said it holds at its last heartbeat (absent before its first count).
    offices_held: Option<usize>,
}

impl From<MemberStatus> for MemberView {
    fn from(status: MemberStatus) -> Self {
        let member = status.member;
        Self {
            id: member.id,
            state: member.state.to_string(),
            region: member.region,
            cluster_addr: member.cluster_addr,
            http_addr: member.http_addr,
            protocol_version: member.protocol_version,
            heartbeating: status.heartbeating,
            offices_held: status.offices_held,
        }
    }
}

/// The answer to a drain (`POST /v1/admin/cluster/nodes/{id}/drain`).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
struct DrainView {
    /// The drained node.
    node: String,
    /// Whether it holds no office any more: it can be stopped.
    drained: bool,
    /// Offices it still holds.
    offices_held: usize,
}

fn cluster_of(state: &AppState) -> Result<Arc<ClusterNode>, ApiError> {
    state.cluster.clone().ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            "this node runs alone (cluster.enabled = false): there is no cluster",
        )
    })
}

fn redis_unavailable(err: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        ErrorCode::Unavailable,
        format!("cannot read the membership from redis: {err}"),
    )
}

/// The membership, the answering node and the offices it holds; `not_found` on a node that runs
/// alone.
#[utoipa::path(
    get,
    path = "/v1/admin/cluster",
    tag = "cluster",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The cluster as this node sees it", body = StatusView),
        crate::openapi::NodeLookupErrors,
    )
)]
async fn status(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<StatusView>, ApiError> {
    principal.require_superadmin()?;
    let cluster = cluster_of(&state)?;
    let status = cluster.status().await.map_err(redis_unavailable)?;
    Ok(Json(StatusView {
        node: status.node_id,
        offices_held: status.offices_held,
        epoch: status.cluster.epoch,
        members: status.cluster.members.into_iter().map(Into::into).collect(),
    }))
}

/// Drains node `id` (forwarded to it when it is another member); answers once it holds no office,
/// or after half of `http.request_timeout` with `drained: false`.
#[utoipa::path(
    post,
    path = "/v1/admin/cluster/nodes/{id}/drain",
    tag = "cluster",
    params(("id" = String, Path, description = "The node to drain")),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Whether the node is drained", body = DrainView),
        crate::openapi::AdminErrors,
    )
)]
async fn drain(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<DrainView>, ApiError> {
    principal.require_superadmin()?;
    let cluster = cluster_of(&state)?;
    if id != cluster.node_id() {
        return forward_drain(&cluster, &id, &headers).await.map(Json);
    }
    let patience = state.settings.http.request_timeout / 2;
    let draining = cluster.clone();
    // Draining goes on if this request ends first; a later request waits for it again.
    let drained = tokio::spawn(async move { draining.drain().await });
    let outcome = tokio::time::timeout(patience, drained).await;
    if let Ok(Ok(Err(err))) = &outcome {
        tracing::warn!(%err, "drained, but the draining state is not yet written to redis");
    }
    let offices_held = *cluster.router().held().borrow();
    Ok(Json(DrainView {
        node: id,
        drained: offices_held == 0 && outcome.is_ok(),
        offices_held,
    }))
}

/// Asks member `id` to drain itself, at its advertised HTTP address.
async fn forward_drain(
    cluster: &ClusterNode,
    id: &str,
    headers: &HeaderMap,
) -> Result<DrainView, ApiError> {
    let status = cluster.status().await.map_err(redis_unavailable)?;
    let member = status
        .cluster
        .members
        .into_iter()
        .find(|status| status.member.id == id)
        .ok_or_else(|| ApiError::not_found("node", id))?
        .member;
    let url = format!(
        "http://{}/v1/admin/cluster/nodes/{id}/drain",
        member.http_addr
    );
    let unreachable = |err: &dyn std::fmt::Display| {
        ApiError::new(
            ErrorCode::Unavailable,
            format!(
                "only node {id:?} can drain itself, and it cannot be reached at {} ({err}); ask it there",
                member.http_addr
            ),
        )
    };
    let mut request = reqwest::Client::new().post(&url);
    if let Some(token) = headers.get(AUTHORIZATION) {
        request = request.header(AUTHORIZATION, token);
    }
    let response = request.send().await.map_err(|err| unreachable(&err))?;
    if !response.status().is_success() {
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        return Err(unreachable(&format!("it answered {status}: {body}")));
    }
    response.json().await.map_err(|err| unreachable(&err))
}
