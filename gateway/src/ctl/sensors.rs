//! `tally ctl sensors …`: a room's sensors (`GET …/rooms/{room}/sensors`, never their keys).

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
}

/// Runs `command` against the node of `client`.
pub(crate) async fn run(
    client: &AdminClient,
    format: Format,
    command: SensorsCommand,
) -> anyhow::Result<()> {
    let SensorsCommand::List {
        tenant,
        office,
        room,
    } = command;
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
