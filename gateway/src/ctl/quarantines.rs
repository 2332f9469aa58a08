//! `tally ctl quarantines …`: the tenants quarantined on every node of a cluster
//! (`GET /v1/admin/cluster/quarantined`), and lifting a tenant's quarantine everywhere
//! (`DELETE /v1/tenants/{tenant}/quarantine`).

use reqwest::Method;
use serde_json::json;

use super::client::AdminClient;
use super::output::{self, Format, table};

/// What `tally ctl quarantines` does.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum QuarantinesCommand {
    /// List the quarantined tenants of every node (a node that runs alone: its own).
    List,
    /// Lift a tenant's quarantine on every node, once its cause is fixed.
    Lift {
        /// The tenant's id.
        tenant: String,
    },
}

/// Runs `command` against the node of `client`.
pub(crate) async fn run(
    client: &AdminClient,
    format: Format,
    command: QuarantinesCommand,
) -> anyhow::Result<()> {
    match command {
        QuarantinesCommand::List => {
            let listing = client.get("/v1/admin/cluster/quarantined").await?;
            output::print(format, &listing, |listing| {
                let nodes = listing["nodes"].as_object().ok_or_else(|| {
                    anyhow::anyhow!("expected quarantined tenants by node, got {listing}")
                })?;
                let mut rows = table(["NODE", "QUARANTINED"]);
                for (node, tenants) in nodes {
                    let names: Vec<&str> = tenants
                        .as_array()
                        .map(|tenants| tenants.iter().filter_map(|t| t.as_str()).collect())
                        .unwrap_or_default();
                    let shown = if names.is_empty() {
                        "none".to_owned()
                    } else {
                        names.join(", ")
                    };
                    rows.add_row([node.as_str(), shown.as_str()]);
                }
                Ok(rows)
            })
        }
        QuarantinesCommand::Lift { tenant } => {
            let path = format!("/v1/tenants/{tenant}/quarantine");
            client.send(Method::DELETE, &path, None).await?;
            match format {
                Format::Json => output::print_json(&json!({ "tenant": tenant, "lifted": true })),
                Format::Table => {
                    println!("lifted the quarantine of tenant {tenant} on every node");
                }
            }
            Ok(())
        }
    }
}
