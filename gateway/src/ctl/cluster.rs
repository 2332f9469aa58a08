//! `tally ctl cluster status` and `tally ctl drain NODE`.
//!
//! `cluster status` reads the membership from Redis (the `[cluster]` settings, so it works with
//! every node down); with `--json` it prints the asked node's `GET /v1/admin/cluster` instead.
//! `drain NODE` asks the node itself, at the HTTP address it published in the membership, and
//! asks again until it holds no office.

use anyhow::{Context, bail};
use reqwest::Method;
use serde::Deserialize;
use tally_cluster::CoordinationConfig;
use tally_cluster::membership::cluster_status;
use tally_config::Settings;

use super::client::AdminClient;
use super::output::{self, Format};

/// What `tally ctl cluster` does.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ClusterCommand {
    /// List the members with their state, region, addresses and heartbeat, and the epoch.
    Status,
}

/// The cluster part of the configuration, or why there is none.
fn coordination(settings: &Settings) -> anyhow::Result<CoordinationConfig> {
    CoordinationConfig::from_settings(&settings.cluster)
        .context("cluster.enabled is false: this node runs alone, there is no cluster")
}

/// Prints the members with their state, region, addresses and heartbeat, and the epoch (from
/// Redis); with `--json`, the document `client`'s node answers to `GET /v1/admin/cluster`.
pub(crate) async fn status_command(
    settings: &Settings,
    client: anyhow::Result<AdminClient>,
    format: Format,
) -> anyhow::Result<()> {
    if format == Format::Json {
        let document = client?.get("/v1/admin/cluster").await?;
        output::print_json(&document);
        return Ok(());
    }
    let status = cluster_status(&coordination(settings)?).await?;
    print!("{status}");
    Ok(())
}

/// What a node answers to a drain.
#[derive(Debug, Deserialize)]
struct Drained {
    drained: bool,
    offices_held: usize,
}

/// Drains `node` and returns once it holds no office.
pub(crate) async fn drain_command(
    settings: &Settings,
    client: &AdminClient,
    node: &str,
) -> anyhow::Result<()> {
    let status = cluster_status(&coordination(settings)?).await?;
    let Some(member) = status
        .members
        .iter()
        .find(|status| status.member.id == node)
    else {
        let known: Vec<&str> = status
            .members
            .iter()
            .map(|s| s.member.id.as_str())
            .collect();
        bail!(
            "no member {node:?} in the cluster (members: {})",
            known.join(", ")
        );
    };
    let member = client.at(format!("http://{}", member.member.http_addr));
    let path = format!("/v1/admin/cluster/nodes/{node}/drain");
    loop {
        let answer = member
            .send(Method::POST, &path, None)
            .await
            .with_context(|| format!("node {node:?} did not drain"))?;
        let answer: Drained = serde_json::from_value(answer).context("unreadable drain answer")?;
        if answer.drained {
            println!("node {node} is drained: it holds no office and can be stopped");
            return Ok(());
        }
        println!(
            "node {node} is draining: {} offices still held",
            answer.offices_held
        );
    }
}
