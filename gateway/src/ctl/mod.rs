//! `tally ctl …`: operating tally from the command line over a node's admin REST API.
//!
//! One file per command group: `cluster.rs` (status, drain), `tenants.rs`, `quarantines.rs`,
//! `health.rs`, `sensors.rs`; `client.rs` finds the node and the admin token and turns the API's
//! errors into clear lines; `output.rs` prints tables or `--json`.

mod client;
mod cluster;
mod health;
mod output;
mod quarantines;
mod sensors;
mod tenants;

use std::path::PathBuf;

use tally_config::Settings;

use client::AdminClient;
use output::Format;

use cluster::ClusterCommand;

/// `tally ctl`'s options and command.
#[derive(Debug, clap::Args)]
pub(crate) struct Ctl {
    /// The node to ask (`http://host:port`); default: `node.http_addr` of the configuration.
    #[arg(long, global = true, env = "TALLY_URL")]
    url: Option<String>,
    /// A file holding the admin token; without it `TALLY_ADMIN_TOKEN`, else `auth.admin_token`,
    /// else the token the node generated in `node.data_dir` (never a flag: shell history keeps
    /// flags).
    #[arg(long, global = true, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Print the API's JSON (one document) instead of a table.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: CtlCommand,
}

/// The command groups of `tally ctl`.
#[derive(Debug, clap::Subcommand)]
enum CtlCommand {
    /// The cluster as a whole.
    Cluster {
        #[command(subcommand)]
        command: ClusterCommand,
    },
    /// Drain a node: it hands its offices over one by one; returns once it can be stopped.
    Drain {
        /// The node's id.
        node: String,
    },
    /// Tenants: list, show, create.
    Tenants {
        #[command(subcommand)]
        command: tenants::TenantsCommand,
    },
    /// Quarantined tenants: list them on every node, lift one.
    Quarantines {
        #[command(subcommand)]
        command: quarantines::QuarantinesCommand,
    },
    /// Whether the node (and, in a cluster, every member) is live and ready; non-zero exit when
    /// one is not.
    Health,
    /// Sensors: a room's list, a sensor's keys (list, rotate, revoke), deleting one.
    Sensors {
        #[command(subcommand)]
        command: sensors::SensorsCommand,
    },
}

/// Runs `ctl` with `settings` (the node's configuration: its address, token and cluster).
///
/// # Errors
/// No admin token, an unreachable node, or the API's refusal, each as one clear line.
pub(crate) async fn run(settings: &Settings, ctl: Ctl) -> anyhow::Result<()> {
    let format = if ctl.json {
        Format::Json
    } else {
        Format::Table
    };
    let url = client::node_url(ctl.url.as_deref(), settings);
    let token = client::admin_token(ctl.token_file.as_deref(), settings);
    match ctl.command {
        CtlCommand::Cluster {
            command: ClusterCommand::Status,
        } => {
            let client = token.and_then(|token| AdminClient::new(url, Some(token)));
            cluster::status_command(settings, client, format).await
        }
        CtlCommand::Drain { node } => {
            let client = AdminClient::new(url, Some(token?))?;
            cluster::drain_command(settings, &client, &node).await
        }
        CtlCommand::Tenants { command } => {
            tenants::run(&AdminClient::new(url, Some(token?))?, format, command).await
        }
        CtlCommand::Quarantines { command } => {
            quarantines::run(&AdminClient::new(url, Some(token?))?, format, command).await
        }
        CtlCommand::Sensors { command } => {
            sensors::run(&AdminClient::new(url, Some(token?))?, format, command).await
        }
        CtlCommand::Health => {
            // Without the admin token, only the asked node (health needs none; listing the
            // cluster's members does).
            let token = token.ok();
            let known = token.is_some();
            health::run(&AdminClient::new(url, token)?, format, known).await
        }
    }
}
