//! Asking every other member of the cluster over its admin REST: the way a node-local admin
//! action (lifting a quarantine, retiring a tenant for its erasure) reaches every node.
//!
//! The members are read from Redis (every listed member but this node, whatever its state: a
//! draining node still holds offices, a joining one is about to). Each is asked at its
//! advertised HTTP address with the caller's `Authorization` header, all at once, each within
//! half of `http.request_timeout`. The actions asked are idempotent, so an operator simply
//! asks again when a node did not answer; the error names every such node and why.

use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, Method};
use serde::de::DeserializeOwned;
use tally_cluster::ClusterNode;
use tally_protocol::ErrorCode;

use super::redis_unavailable;
use crate::error::ApiError;
use crate::state::AppState;

/// Sends `method path` to every other member of `cluster` and returns each one's JSON answer
/// with its node id.
///
/// # Errors
/// `unavailable` if the membership cannot be read, or listing every member that did not
/// answer with a success (unreachable, timed out, or an error status with its body).
pub(super) async fn every_other_member<T: DeserializeOwned>(
    state: &AppState,
    cluster: &ClusterNode,
    headers: &HeaderMap,
    (method, path): (Method, &str),
) -> Result<Vec<(String, T)>, ApiError> {
    let status = cluster.status().await.map_err(redis_unavailable)?;
    let client = reqwest::Client::builder()
        .timeout(state.settings.http.request_timeout / 2)
        .build()
        .map_err(|err| ApiError::new(ErrorCode::Internal, format!("http client: {err}")))?;
    let asked = status
        .cluster
        .members
        .into_iter()
        .map(|status| status.member)
        .filter(|member| member.id != cluster.node_id())
        .map(|member| {
            let mut request =
                client.request(method.clone(), format!("http://{}{path}", member.http_addr));
            if let Some(token) = headers.get(AUTHORIZATION) {
                request = request.header(AUTHORIZATION, token);
            }
            async move {
                let answer = ask(request).await;
                (member.id, member.http_addr, answer)
            }
        });
    let mut answered = Vec::new();
    let mut silent = Vec::new();
    for (id, addr, answer) in futures::future::join_all(asked).await {
        match answer {
            Ok(answer) => answered.push((id, answer)),
            Err(reason) => silent.push(format!("{id} at {addr}: {reason}")),
        }
    }
    if silent.is_empty() {
        Ok(answered)
    } else {
        Err(ApiError::new(
            ErrorCode::Unavailable,
            format!(
                "done on {} of {} nodes; these did not answer: {}; ask again (it is idempotent)",
                answered.len() + 1,
                answered.len() + silent.len() + 1,
                silent.join("; ")
            ),
        ))
    }
}

/// One member's answer, or why there is none.
async fn ask<T: DeserializeOwned>(request: reqwest::RequestBuilder) -> Result<T, String> {
    let response = request.send().await.map_err(|err| err.to_string())?;
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        return Err(format!("answered {status}: {body}"));
    }
    response.json().await.map_err(|err| err.to_string())
}
