//! `tally ctl health`: whether the node answers (`/healthz`) and is ready (`/readyz`), and, on a
//! cluster node (with the admin token), the same for every member at its advertised HTTP
//! address. Exits non-zero when any node is not ready.

use anyhow::bail;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::client::{AdminClient, Refused};
use super::output::{self, Format, table, text};

/// A node to check: its id and membership state when the cluster listed it, and where to ask.
#[derive(Debug)]
struct Target {
    node: Option<String>,
    state: Option<String>,
    client: AdminClient,
}

/// Checks the node of `client` and, when it is a cluster member and the admin token is known,
/// every other member; prints one row (or JSON object) per node.
///
/// # Errors
/// When the cluster cannot be listed (other than "this node runs alone"), or any node is not
/// live or not ready.
pub(crate) async fn run(
    client: &AdminClient,
    format: Format,
    token_known: bool,
) -> anyhow::Result<()> {
    let targets = if token_known {
        targets(client).await?
    } else {
        vec![Target {
            node: None,
            state: None,
            client: client.clone(),
        }]
    };
    let nodes: Vec<Value> = futures::future::join_all(targets.into_iter().map(check)).await;
    let document = json!({ "nodes": nodes });
    output::print(format, &document, |document| {
        let mut rows = table(["NODE", "URL", "MEMBER", "LIVE", "READY", "PROBLEM"]);
        for node in document["nodes"].as_array().into_iter().flatten() {
            rows.add_row([
                text(node, "node"),
                text(node, "url"),
                text(node, "member_state"),
                yes_no(node, "live"),
                yes_no(node, "ready"),
                text(node, "problem"),
            ]);
        }
        Ok(rows)
    })?;
    let all = nodes.len();
    let not_ready = nodes.iter().filter(|node| node["ready"] != true).count();
    if not_ready > 0 {
        bail!("{not_ready} of {all} nodes not ready");
    }
    Ok(())
}

/// `yes`/`no` for a boolean field.
fn yes_no(node: &Value, field: &str) -> String {
    if node[field] == true { "yes" } else { "no" }.to_owned()
}

/// The node of `client`, and every other member when it is in a cluster.
async fn targets(client: &AdminClient) -> anyhow::Result<Vec<Target>> {
    let cluster = match client.get("/v1/admin/cluster").await {
        Ok(cluster) => cluster,
        // A node that runs alone, or one that does not answer (its check says so).
        Err(err)
            if err
                .downcast_ref::<Refused>()
                .is_none_or(|refused| refused.status == StatusCode::NOT_FOUND) =>
        {
            return Ok(vec![Target {
                node: None,
                state: None,
                client: client.clone(),
            }]);
        }
        Err(err) => return Err(err),
    };
    let answering = cluster["node"].as_str().unwrap_or_default();
    Ok(cluster["members"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|member| {
            let id = text(member, "id");
            // The answering node is asked where the operator asked it, the others where they
            // advertise their HTTP address.
            let client = if id == answering {
                client.clone()
            } else {
                client.at(format!("http://{}", text(member, "http_addr")))
            };
            Target {
                node: Some(id),
                state: Some(text(member, "state")),
                client,
            }
        })
        .collect())
}

/// One node's liveness and readiness, as a JSON object.
async fn check(target: Target) -> Value {
    let live = target.client.get("/healthz").await;
    let ready = target.client.get("/readyz").await;
    let node = target.node.or_else(|| {
        ready
            .as_ref()
            .ok()
            .and_then(|ready| ready["node"].as_str().map(str::to_owned))
    });
    let problem = match (&live, &ready) {
        (Err(err), _) | (Ok(_), Err(err)) => Some(format!("{err:#}")),
        (Ok(_), Ok(_)) => None,
    };
    json!({
        "node": node,
        "url": target.client.base(),
        "member_state": target.state,
        "live": live.is_ok(),
        "ready": ready.is_ok(),
        "problem": problem,
    })
}
