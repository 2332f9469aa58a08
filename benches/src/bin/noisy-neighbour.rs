//! `noisy-neighbour`: tenant B's ack p50/p99 while tenant A floods, with A's quotas on (the
//! defaults) and off, against B alone, all in one run (each phase on a fresh in-process node).
//! See `benches/README.md`.

use clap::Parser;
use tally_benches::{Phase, phase};
use tally_config::Settings;

/// Measures what a flooding tenant costs another one.
#[derive(Debug, Parser)]
struct Args {
    /// Timed round trips of tenant B per phase (one reading, wait for its ack).
    #[arg(long, default_value_t = 2000)]
    rounds: u32,
    /// Sensors of tenant A sending 500-reading frames back to back.
    #[arg(long, default_value_t = 20)]
    flooders: u32,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let defaults = Settings::default();
    let mut unlimited = Settings::default();
    unlimited.quotas.readings_per_second = 1_000_000_000;
    unlimited.quotas.readings_burst = 1_000_000_000;
    unlimited.quotas.max_inflight = unlimited.ingest.node_inflight;
    let quiet = phase(defaults.clone(), 0, args.rounds).await?;
    let limited = phase(defaults, args.flooders, args.rounds).await?;
    let open = phase(unlimited, args.flooders, args.rounds).await?;
    println!(
        "| phase | B ack p50 (ms) | B ack p99 (ms) | p99 / quiet p99 | A readings acked | A closed with 4429 |"
    );
    println!("|---|---|---|---|---|---|");
    for (name, figures) in [
        ("B alone", quiet),
        ("A floods, quotas on (defaults)", limited),
        ("A floods, quotas off", open),
    ] {
        row(name, figures, quiet);
    }
    Ok(())
}

fn row(name: &str, figures: Phase, quiet: Phase) {
    println!(
        "| {name} | {:.3} | {:.3} | {:.2} | {} | {} |",
        figures.ack_ms.p50,
        figures.ack_ms.p99,
        figures.ack_ms.p99 / quiet.ack_ms.p99,
        figures.flood_acked,
        figures.flood_rate_limited
    );
}
