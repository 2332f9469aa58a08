//! `analytics-year`: the analytics endpoints' p50/p95 over a year of minute data of one office
//! on the embedded store, against `/healthz` in the same run. See `benches/README.md`.

use clap::Parser;
use tally_benches::{YearShape, year_of_data};

/// Times the analytics endpoints over a year of an office.
#[derive(Debug, Parser)]
struct Args {
    /// Rooms in the office.
    #[arg(long, default_value_t = 5)]
    rooms: u32,
    /// Local days of minute data.
    #[arg(long, default_value_t = 365)]
    days: u32,
    /// Timed rounds; each asks every endpoint once, `/healthz` included.
    #[arg(long, default_value_t = 20)]
    rounds: u32,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let figures = year_of_data(YearShape {
        rooms: args.rooms,
        days: args.days,
        rounds: args.rounds,
    })
    .await?;
    println!(
        "setup: {} readings, {} rollups written in {:.1} s",
        figures.readings,
        figures.rollups,
        figures.setup.as_secs_f64()
    );
    let health = figures.endpoints[0].p95_ms;
    println!("| endpoint | p50 (ms) | p95 (ms) | p95 / healthz p95 | answer (bytes) |");
    println!("|---|---|---|---|---|");
    for e in &figures.endpoints {
        println!(
            "| `{}` | {:.1} | {:.1} | {:.0} | {} |",
            e.name,
            e.p50_ms,
            e.p95_ms,
            e.p95_ms / health,
            e.bytes
        );
    }
    Ok(())
}
