//! `tally demo`: a node on the embedded defaults (in a fresh data directory) with a demo tenant of
//! a few offices and dozens of rooms, and simulated sensors that post believable days through
//! the node's real HTTP ingest (`POST /v1/readings` with each sensor's key). Prints the wall
//! display URLs with a valid viewer token.

mod fleet;
mod pattern;

use std::path::PathBuf;

use anyhow::Context;
use tally_config::Settings;

use crate::RunningNode;

pub use fleet::DEMO_TENANT;

/// A demo node, provisioned and simulated.
#[derive(Debug)]
pub struct Demo {
    /// The node.
    pub node: RunningNode,
    /// Display URLs (tenant page first, then one per office), each with a viewer token.
    pub urls: Vec<String>,
    /// The simulated sensors' task.
    pub sensors: tokio::task::JoinHandle<()>,
    /// The demo's fresh data directory (left behind for a look; remove it when done).
    pub data_dir: PathBuf,
}

/// Starts a demo node with `settings` (its data directory replaced by a fresh one under the
/// system's temporary directory, and an admin token generated when none is set), provisions the
/// demo tenant and starts its simulated sensors.
///
/// # Errors
/// If the node does not start or the demo tenant cannot be created.
pub async fn start(mut settings: Settings) -> anyhow::Result<Demo> {
    let data_dir = fresh_data_dir()?;
    settings.node.data_dir = data_dir.clone();
    let admin = settings
        .auth
        .admin_token
        .get_or_insert_with(|| format!("demo-{:032x}", rand::random::<u128>()))
        .clone();
    let node = crate::start(settings).await?;
    let base = format!("http://{}", node.addr());
    let fleet = fleet::provision(&base, &admin).await?;
    let mut urls = vec![format!(
        "{base}/display/{DEMO_TENANT}#token={}",
        fleet.viewer_token
    )];
    for office in fleet::OFFICES {
        urls.push(format!(
            "{base}/display/{DEMO_TENANT}/{}#token={}",
            office.id, fleet.viewer_token
        ));
    }
    let sensors = tokio::spawn(pattern::simulate(base, fleet.rooms));
    Ok(Demo {
        node,
        urls,
        sensors,
        data_dir,
    })
}

/// `tally-demo-<pid>-<random>` under the temporary directory.
fn fresh_data_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "tally-demo-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the demo's data directory {}", dir.display()))?;
    Ok(dir)
}
