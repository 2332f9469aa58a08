//! `tally ctl sensors …`: a room's sensors (`GET …/rooms/{room}/sensors`, never their keys), a
//! sensor's keys (`…/sensors/{sensor}/keys`: list, rotate with an overlap, revoke one or all) and
//! deleting a sensor. A rotation prints the new key once, as the API answers it.

use reqwest::Method;
use serde_json::{Value, json};

use super::client::AdminClient;
use super::output::{self, Format, rows, table, text};

/// What `tally ctl sensors` does.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum SensorsCommand {
    /// List the sensors of a room.
    List {
        /// The tenant's id.
        tenant: String,
        /// The office's id.
        office: String,
        /// The room's id.
        room: String,
    },
    /// List a sensor's keys (ids and times, never the secrets).
    Keys {
        /// The tenant's id.
        tenant: String,
        /// The sensor's id.
        sensor: String,
    },
    /// Give a sensor a new key; its other keys stay valid for the overlap.
    Rotate {
        /// The tenant's id.
        tenant: String,
        /// The sensor's id.
        sensor: String,
        /// How long the sensor's other keys stay valid, in seconds (the node's default, 24 h,
        /// when absent; 0 ends them now).
        #[arg(long)]
        overlap_secs: Option<u64>,
    },
    /// Revoke one key of a sensor (by its id), or all of them; its open connection closes.
    Revoke {
        /// The tenant's id.
        tenant: String,
        /// The sensor's id.
        sensor: String,
        /// The key's id (`sensors keys` lists them); every key of the sensor when absent.
        key: Option<String>,
    },
    /// Delete a sensor and its keys (its readings stay); its open connection closes.
    Delete {
        /// The tenant's id.
        tenant: String,
        /// The sensor's id.
        sensor: String,
    },
}

/// Runs `command` against the node of `client`.
pub(crate) async fn run(
    client: &AdminClient,
    format: Format,
    command: SensorsCommand,
) -> anyhow::Result<()> {
    match command {
        SensorsCommand::List {
            tenant,
            office,
            room,
        } => {
            let path = format!("/v1/tenants/{tenant}/offices/{office}/rooms/{room}/sensors");
            let sensors = client.get(&path).await?;
            output::print(format, &sensors, |sensors| {
                let mut listing = table(["SENSOR", "OFFICE", "ROOM"]);
                for sensor in rows(sensors, "sensors")? {
                    listing.add_row([
                        text(sensor, "id"),
                        text(sensor, "office"),
                        text(sensor, "room"),
                    ]);
                }
                Ok(listing)
            })
        }
        SensorsCommand::Keys { tenant, sensor } => {
            let keys = client.get(&keys_path(&tenant, &sensor)).await?;
            output::print(format, &keys, |keys| {
                let mut listing = table(["KEY", "CREATED_AT", "EXPIRES_AT", "VALID"]);
                for key in rows(keys, "keys")? {
                    listing.add_row([
                        text(key, "id"),
                        text(key, "created_at"),
                        text(key, "expires_at"),
                        text(key, "valid"),
                    ]);
                }
                Ok(listing)
            })
        }
        SensorsCommand::Rotate {
            tenant,
            sensor,
            overlap_secs,
        } => {
            let body =
                overlap_secs.map_or_else(|| json!({}), |secs| json!({ "overlap_secs": secs }));
            let path = format!("{}/rotate", keys_path(&tenant, &sensor));
            let rotated = client.send(Method::POST, &path, Some(body)).await?;
            match format {
                Format::Json => output::print_json(&rotated),
                Format::Table => {
                    println!("new key of sensor {sensor} (shown once, keep it secret):");
                    println!("{}", text(&rotated, "key"));
                    println!(
                        "key id {}; the sensor's other keys expire at {} (ms since the epoch)",
                        text(&rotated, "id"),
                        text(&rotated, "previous_keys_expire_at")
                    );
                }
            }
            Ok(())
        }
        SensorsCommand::Revoke {
            tenant,
            sensor,
            key,
        } => {
            let (path, what) = match &key {
                Some(key) => (
                    format!("{}/{key}", keys_path(&tenant, &sensor)),
                    format!("key {key}"),
                ),
                None => (keys_path(&tenant, &sensor), "every key".to_owned()),
            };
            let answer = client.send(Method::DELETE, &path, None).await?;
            done(
                format,
                &json!({ "tenant": tenant, "sensor": sensor, "key": key, "revoked": revoked(&answer) }),
                &format!("revoked {what} of sensor {sensor}"),
            );
            Ok(())
        }
        SensorsCommand::Delete { tenant, sensor } => {
            let path = format!("/v1/tenants/{tenant}/sensors/{sensor}");
            client.send(Method::DELETE, &path, None).await?;
            done(
                format,
                &json!({ "tenant": tenant, "sensor": sensor, "deleted": true }),
                &format!("deleted sensor {sensor} and its keys"),
            );
            Ok(())
        }
    }
}

/// The path of a sensor's keys.
fn keys_path(tenant: &str, sensor: &str) -> String {
    format!("/v1/tenants/{tenant}/sensors/{sensor}/keys")
}

/// How many keys an answer says were revoked (one when it names none: a single key's 204).
fn revoked(answer: &Value) -> u64 {
    answer["revoked"].as_u64().unwrap_or(1)
}

/// Prints the outcome of a change: `document` with `--json`, else `line`.
fn done(format: Format, document: &Value, line: &str) {
    match format {
        Format::Json => output::print_json(document),
        Format::Table => println!("{line}"),
    }
}
