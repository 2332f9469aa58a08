//! Benchmarks of tally and `tally-load`, its load generator.
//!
//! The criterion micro-benchmarks live in `benches/` (`cargo bench -p tally-benches`). This
//! library is `tally-load`: it creates a fresh tenant on a running node through the admin REST
//! API, measures a bare durable write on an `EmbeddedStore` as a baseline, then drives N sensors
//! (`/v1/sensors/connect`) and M displays (`/v1/live`) over real WebSockets for a bounded time and
//! reports acknowledged readings per second, send → ack latency, sensor → display latency and
//! errors by code, with the load figures divided by the baseline's (the machine is shared and
//! noisy, ratios travel better than absolute numbers). See `benches/README.md`.

mod analytics_year;
mod baseline;
mod cli;
mod cluster_rig;
mod commit;
mod display;
mod failover;
mod fencing_cost;
mod noisy;
mod provision;
mod report;
mod run;
mod sensor;
mod stall;
mod stats;
mod storm;
mod ws;

pub use analytics_year::{EndpointFigures, YearFigures, YearShape, year_of_data};
pub use baseline::BaselineFigures;
pub use cli::{LoadArgs, MAX_DURATION, WireCodec};
pub use cluster_rig::ClusterRig;
pub use commit::{CommitFigures, CommitShape, group_commits};
pub use failover::{IngestShape, failover_once, forwarding_rates, median};
pub use fencing_cost::{FencingRig, FencingShape, FencingVariant};
pub use noisy::{Phase, phase, storm_phase};
pub use report::{DisplayFigures, Ratios, Report, RunConfig, SensorFigures};
pub use run::run;
pub use stall::{StallFigures, StallShape, stall_once};
pub use stats::{ErrorCount, LatencySummary};
pub use storm::{Storm, StormFigures};
