//! `noisy-neighbour`: tenant B's ack p50/p99 while tenant A floods, with A's quotas on (the
//! defaults) and off, and with A also storming the node with connections from its own source
//! address, against B alone, all in one run (each phase on a fresh in-process node). See
//! `benches/README.md`.

use std::net::IpAddr;

use clap::Parser;
use tally_benches::{Phase, Storm, StormFigures, phase, storm_phase};
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
    /// Tenant A's own source address in the storm phase (any loopback address works on Linux).
    #[arg(long, default_value = "127.0.0.2")]
    storm_source: IpAddr,
    /// Sensor sockets tenant A may hold in the storm phase (`quotas.max_connections`; its
    /// flooders count too).
    #[arg(long, default_value_t = 40)]
    storm_quota: u32,
    /// Connection attempts per second of A in the storm phase, all from `storm_source`.
    #[arg(long, default_value_t = 1000)]
    storm_attempts: u32,
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
    let mut storm_settings = Settings::default();
    storm_settings.quotas.max_connections = args.storm_quota;
    let storm = Storm {
        source: args.storm_source,
        connectors: 8,
        attempts_per_second: args.storm_attempts,
        batches_per_second: 200,
    };
    let (stormed, refusals) =
        storm_phase(storm_settings, args.flooders, args.rounds, storm).await?;
    let open = phase(unlimited, args.flooders, args.rounds).await?;
    println!(
        "| phase | B ack p50 (ms) | B ack p99 (ms) | p99 / quiet p99 | A readings acked | A closed with 4429 |"
    );
    println!("|---|---|---|---|---|---|");
    for (name, figures) in [
        ("B alone", quiet),
        ("A floods, quotas on (defaults)", limited),
        ("A floods and storms connections, quotas on", stormed),
        ("A floods, quotas off", open),
    ] {
        row(name, figures, quiet);
    }
    print_refusals(&refusals, &storm_settings_summary(&args));
    Ok(())
}

/// What the storm phase's limits were, for the refusals table's heading.
fn storm_settings_summary(args: &Args) -> String {
    let http = Settings::default().http;
    format!(
        "A from {}: quotas.max_connections = {}, http.connection_rate_per_source = {}/s (burst {}), {} attempts/s",
        args.storm_source,
        args.storm_quota,
        http.connection_rate_per_source,
        http.connection_burst_per_source,
        args.storm_attempts
    )
}

/// How the node refused A's storm.
fn print_refusals(figures: &StormFigures, heading: &str) {
    println!();
    println!("Storm phase, {heading}:");
    println!();
    println!("| what A did | node's answer | count |");
    println!("|---|---|---|");
    println!(
        "| sensor socket + hello | welcome (held open) | {} |",
        figures.welcomed
    );
    for (code, count) in &figures.closed_after_hello {
        println!("| sensor socket + hello | close {code} | {count} |");
    }
    for (code, count) in &figures.refused_upgrades {
        println!("| sensor socket | upgrade failed: {code} | {count} |");
    }
    for (status, count) in &figures.http_statuses {
        println!("| POST /v1/readings | HTTP {status} | {count} |");
    }
    match figures.retry_after {
        Some((low, high)) => println!("\nRetry-After of the 429s: {low} to {high} s"),
        None => println!("\nno 429 carried Retry-After"),
    }
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
