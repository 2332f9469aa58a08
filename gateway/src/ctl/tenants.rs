//! `tally ctl tenants …`: the tenants the admin API offers (`/v1/tenants`): list, show one with
//! its offices, create.

use anyhow::Context;
use reqwest::Method;
use serde_json::{Value, json};

use super::client::AdminClient;
use super::output::{self, Format, rows, table, text};

/// What `tally ctl tenants` does.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum TenantsCommand {
    /// List every tenant (`GET /v1/tenants`).
    List,
    /// Show a tenant and its offices (`GET /v1/tenants/{tenant}` and `…/offices`).
    Show {
        /// The tenant's id.
        tenant: String,
    },
    /// Create a tenant (`POST /v1/tenants`).
    Create {
        /// The new tenant's id (a slug: lowercase letters, digits, `-`).
        tenant: String,
        /// Its display name.
        #[arg(long, default_value = "")]
        name: String,
    },
}

/// Runs `command` against the node of `client`.
pub(crate) async fn run(
    client: &AdminClient,
    format: Format,
    command: TenantsCommand,
) -> anyhow::Result<()> {
    match command {
        TenantsCommand::List => {
            let tenants = client.get("/v1/tenants").await?;
            output::print(format, &tenants, |tenants| {
                let mut listing = table(["TENANT", "NAME"]);
                for tenant in rows(tenants, "tenants")? {
                    listing.add_row([text(tenant, "id"), text(tenant, "name")]);
                }
                Ok(listing)
            })
        }
        TenantsCommand::Show { tenant } => {
            let path = format!("/v1/tenants/{tenant}");
            let record = client.get(&path).await?;
            let offices = client.get(&format!("{path}/offices")).await?;
            let document = json!({ "tenant": record, "offices": offices });
            output::print(format, &document, |document| {
                let tenant = &document["tenant"];
                println!(
                    "tenant {}  name {}",
                    text(tenant, "id"),
                    text(tenant, "name")
                );
                let mut listing = table(["OFFICE", "NAME"]);
                for office in rows(&document["offices"], "offices")? {
                    listing.add_row([text(office, "id"), text(office, "name")]);
                }
                Ok(listing)
            })
        }
        TenantsCommand::Create { tenant, name } => {
            let body = json!({ "id": tenant, "name": name });
            let created = client
                .send(Method::POST, "/v1/tenants", Some(body))
                .await
                .with_context(|| format!("cannot create tenant {tenant:?}"))?;
            created_line(format, &created);
            Ok(())
        }
    }
}

/// Prints the created tenant.
fn created_line(format: Format, created: &Value) {
    match format {
        Format::Json => output::print_json(created),
        Format::Table => println!(
            "created tenant {} (name {:?})",
            text(created, "id"),
            created["name"].as_str().unwrap_or_default()
        ),
    }
}
