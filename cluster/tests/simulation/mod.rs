//! A deterministic simulation of the cluster protocol: several nodes drive the production
//! state machine of [`tally_cluster::ownership`] against in-memory models of Redis, the store
//! and the network, under faults drawn from a seed; the invariants are checked after every
//! event, and at the end of the run.
//!
//! - `world.rs`: the event loop, sensors, the network and the fault schedule.
//! - `nodes.rs`: what a node does with readings, answers and the machines' commands.
//! - `redis.rs`, `store.rs`: the models (their behaviours are those the storage conformance
//!   suite and the lease tests check on the real servers).
//! - `watcher.rs`: a node's heartbeat and membership watcher (the production hold-over rules).
//! - `faults.rs`: the fault mix drawn from the seed, and counts per fault kind.
//! - `checker.rs`: the invariants.
//! - `lease_conformance.rs`: what the Redis model assumes of leases, as cases run against the
//!   model and against a real `redis-server`.

mod checker;
mod faults;
pub(crate) mod lease_conformance;
mod nodes;
mod redis;
mod store;
mod watcher;
mod world;

pub(crate) use faults::FaultCounts;
pub(crate) use tally_cluster::ownership::Mutation;

/// Faults fire during the first this many ms of simulated time, then heal.
pub(crate) const FAULT_PHASE: u64 = 12_000;
/// After healing, within this many ms every office must be active on exactly one node and
/// every reading acknowledged.
pub(crate) const HEAL_BOUND: u64 = 10_000;

/// A reading: its sensor and seq, and the node the sensor sent it to (where its ack goes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Reading {
    pub(crate) sensor: usize,
    pub(crate) seq: u64,
    pub(crate) via: usize,
}

/// A run that held every invariant.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    /// The hash of every happening and command, in order.
    pub(crate) trace_hash: u64,
    /// Happenings handled.
    pub(crate) events: u64,
    /// Faults fired, by kind.
    pub(crate) counts: FaultCounts,
}

/// A run that broke an invariant.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub(crate) seed: u64,
    pub(crate) mutation: Option<Mutation>,
    /// Which invariant, in words.
    pub(crate) violation: String,
    /// The last happenings before it, one a line.
    pub(crate) tail: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mutation = self
            .mutation
            .map_or(String::new(), |m| format!("TALLY_SIM_MUTATION={m:?} "));
        writeln!(f, "seed {}: {}", self.seed, self.violation)?;
        writeln!(
            f,
            "replay: TALLY_SIM_SEED={} {mutation}cargo test -p tally-cluster --test sim_cluster \
             random_seeds -- --nocapture",
            self.seed
        )?;
        writeln!(
            f,
            "last happenings (time ms, happening -> node/office commands):"
        )?;
        f.write_str(&self.tail)
    }
}

/// Runs the schedule of `seed` with the core carrying `mutation` (none: the real protocol).
pub(crate) fn simulate(seed: u64, mutation: Option<Mutation>) -> Result<Run, Failure> {
    let mut world = world::World::new(seed, mutation);
    world.run();
    match world.checker.violation.take() {
        None => Ok(Run {
            trace_hash: world.hash.0,
            events: world.events,
            counts: world.counts,
        }),
        Some(violation) => {
            let tail = world
                .tail
                .iter()
                .map(|line| {
                    format!(
                        "{:>6} {:?} -> {:?}\n",
                        line.at, line.happening, line.commands
                    )
                })
                .collect();
            Err(Failure {
                seed,
                mutation,
                violation: format!("at {} ms: {violation}", world.now),
                tail,
            })
        }
    }
}
