//! `tally-load`: drives sensors and displays over real WebSockets against a running tally node
//! for a bounded time, then prints a report (see `benches/README.md`).

use std::{process::ExitCode, time::Duration};

use clap::Parser;
use tally_benches::{LoadArgs, run};

/// Slack over `--duration` for provisioning, the baseline, connecting and draining; past it the
/// run is abandoned so that the tool always stops by itself.
const SETUP_SLACK: Duration = Duration::from_secs(240);

#[tokio::main]
async fn main() -> ExitCode {
    let args = LoadArgs::parse();
    let limit = args.duration + SETUP_SLACK;
    match tokio::time::timeout(limit, run(&args)).await {
        Ok(Ok(report)) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).expect("reports always serialize")
                );
            } else {
                print!("{report}");
            }
            ExitCode::SUCCESS
        }
        Ok(Err(e)) => {
            eprintln!("tally-load: {e:#}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!(
                "tally-load: gave up after {limit:?} (run limit = --duration + {SETUP_SLACK:?})"
            );
            ExitCode::FAILURE
        }
    }
}
