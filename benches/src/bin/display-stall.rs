//! `display-stall`: stale frames a resumed display reads before it is current, with what is in
//! flight bounded only by TCP's socket buffers (`display.inflight_frames` at its maximum: how the
//! node behaved before frames were gated by pongs) and with the default window of one frame,
//! in one run on in-process nodes. See `benches/README.md`.

use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use tally_benches::{StallShape, stall_once};
use tally_config::Settings;

/// Admin token of the throwaway nodes.
const ADMIN_TOKEN: &str = "display-stall-admin-token-0123456789";

/// A display stops reading while every room of its office changes, then resumes.
#[derive(Debug, Parser)]
struct Args {
    /// Rooms of the office (one sensor each).
    #[arg(long, default_value_t = 40)]
    rooms: u32,
    /// Readings per second of each sensor during the stall.
    #[arg(long, default_value_t = 10)]
    rate: u32,
    /// How long the display does not read.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    stall: Duration,
    /// Rounds of both configurations, to see the spread.
    #[arg(long, default_value_t = 2)]
    rounds: u32,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let shape = StallShape {
        rooms: args.rooms,
        rate: args.rate,
        stall: args.stall,
    };
    println!("shape: {shape:?}");
    for round in 0..args.rounds {
        for (name, inflight_frames) in [("TCP buffers only", 65536), ("pong-gated, 1 frame", 1)] {
            let dir = tempfile::tempdir().context("a data directory")?;
            let env = [
                ("TALLY_NODE__DATA_DIR", dir.path().display().to_string()),
                ("TALLY_NODE__HTTP_ADDR", "127.0.0.1:0".to_owned()),
                ("TALLY_AUTH__ADMIN_TOKEN", ADMIN_TOKEN.to_owned()),
                (
                    "TALLY_DISPLAY__INFLIGHT_FRAMES",
                    inflight_frames.to_string(),
                ),
            ];
            let settings =
                Settings::from_sources(None, env.into_iter().map(|(k, v)| (k.to_owned(), v)))
                    .map_err(|e| anyhow::anyhow!("settings: {e:?}"))?;
            let node = tally_gateway::start(settings).await?;
            let url = format!("http://{}", node.addr());
            let figures = stall_once(&url, ADMIN_TOKEN, shape).await;
            node.stop().await;
            let figures = figures?;
            println!(
                "round {round}, {name}: {} versions published during the stall; on resume {} stale frames, {} stale bytes, current after {:.1} ms",
                figures.versions_during_stall,
                figures.stale_frames,
                figures.stale_bytes,
                figures.time_to_current.as_secs_f64() * 1000.0
            );
        }
    }
    Ok(())
}
