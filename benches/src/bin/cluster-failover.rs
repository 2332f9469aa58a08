//! `cluster-failover`: failover time and forwarded vs direct ingest on a three-node cluster of
//! release `tally` processes. See `benches/README.md`.

use std::time::Duration;

use clap::Parser;
use tally_benches::{ClusterRig, IngestShape, failover_once, forwarding_rates, median};
use tally_config::ClusterSettings;

/// Measures on a cluster of three `tally` processes it starts itself.
#[derive(Debug, Parser)]
struct Args {
    /// Failovers to time (the median is reported).
    #[arg(long, default_value_t = 5)]
    failovers: u32,
    /// Rounds of direct-then-forwarded ingest.
    #[arg(long, default_value_t = 3)]
    rounds: u32,
    /// Sensors of the ingest phases.
    #[arg(long, default_value_t = 20)]
    sensors: u32,
    /// Length of one ingest phase.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    duration: Duration,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // The default cluster timings: heartbeat 1 s / TTL 3 s, lease 3 s renewed every 1 s.
    let mut rig = ClusterRig::start(3, ClusterSettings::default()).await?;
    println!("three nodes up (default cluster timings)");

    let shape = IngestShape {
        sensors: args.sensors,
        batch: 10,
        window: 8,
        duration: args.duration,
    };
    let rates = forwarding_rates(&rig, shape, args.rounds).await?;
    for (round, (direct, forwarded)) in rates.iter().enumerate() {
        println!(
            "round {}: through the owner {direct:.0} readings/s, forwarded {forwarded:.0} readings/s ({:.2}x)",
            round + 1,
            forwarded / direct
        );
    }
    let direct: Vec<f64> = rates.iter().map(|r| r.0).collect();
    let forwarded: Vec<f64> = rates.iter().map(|r| r.1).collect();
    println!(
        "median: through the owner {:.0}/s, forwarded {:.0}/s, forwarded/direct {:.2}",
        median(&direct),
        median(&forwarded),
        median(&forwarded) / median(&direct)
    );

    let mut took = Vec::new();
    for run in 0..args.failovers {
        let victim = 1 + (run as usize % 2);
        let time = failover_once(&mut rig, victim).await?;
        println!(
            "failover {}: kill -9 of n{} -> first accepted reading in {:.2} s",
            run + 1,
            victim + 1,
            time.as_secs_f64()
        );
        took.push(time.as_secs_f64());
    }
    println!(
        "failover median {:.2} s over {} runs (min {:.2}, max {:.2})",
        median(&took),
        took.len(),
        took.iter().copied().fold(f64::INFINITY, f64::min),
        took.iter().copied().fold(0.0, f64::max)
    );
    Ok(())
}
