//! `tally ctl …`: operating a cluster from the command line.
//!
//! `tally ctl cluster status` reads the membership from Redis. `tally ctl drain NODE` asks the
//! node itself, at the HTTP address it published in the membership, with the admin token
//! (`auth.admin_token`, from the configuration or `TALLY_AUTH__ADMIN_TOKEN`, else the file
//! `admin_token` in `node.data_dir`), and asks again until it holds no office.

use anyhow::{Context, bail};
use serde::Deserialize;
use tally_cluster::CoordinationConfig;
use tally_cluster::membership::cluster_status;
use tally_config::Settings;

/// The cluster part of the configuration, or why there is none.
fn coordination(settings: &Settings) -> anyhow::Result<CoordinationConfig> {
    CoordinationConfig::from_settings(&settings.cluster)
        .context("cluster.enabled is false: this node runs alone, there is no cluster")
}

/// Prints the members with their state, region, addresses and heartbeat, and the epoch.
pub(crate) async fn cluster_status_command(settings: &Settings) -> anyhow::Result<()> {
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
pub(crate) async fn drain_command(settings: &Settings, node: &str) -> anyhow::Result<()> {
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
    let token = admin_token(settings)?;
    let url = format!(
        "http://{}/v1/admin/cluster/nodes/{node}/drain",
        member.member.http_addr
    );
    let client = reqwest::Client::new();
    loop {
        let response = client
            .post(&url)
            .bearer_auth(&token)
            .send()
            .await
            .with_context(|| format!("cannot reach node {node:?} at {url}"))?;
        if !response.status().is_success() {
            let code = response.status();
            bail!(
                "node {node:?} refused the drain: {code} {}",
                response.text().await.unwrap_or_default()
            );
        }
        let answer: Drained = response.json().await.context("unreadable drain answer")?;
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

/// The admin token: `auth.admin_token`, else the generated one in the data directory.
fn admin_token(settings: &Settings) -> anyhow::Result<String> {
    if let Some(token) = &settings.auth.admin_token {
        return Ok(token.clone());
    }
    let file = settings.admin_token_file();
    std::fs::read_to_string(&file)
        .map(|token| token.trim().to_owned())
        .with_context(|| {
            format!(
                "no admin token: set auth.admin_token (or TALLY_AUTH__ADMIN_TOKEN), or run where {} exists",
                file.display()
            )
        })
}
