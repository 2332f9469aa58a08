//! Deterministic simulation of the cluster protocol (issue 13): seeded fault schedules over 3–5
//! simulated nodes driving `tally_cluster::ownership`, invariants checked after every event.
//!
//! - `TALLY_SIM_SECONDS` (default 120): the time budget of the random seeds.
//! - `TALLY_SIM_THREADS` (default 2): threads running random seeds.
//! - `TALLY_SIM_SEEDS` (default 1 000 000): their count bound.
//! - `TALLY_SIM_BASE`: the first random seed (default: from the clock; printed).
//! - `TALLY_SIM_SEED` (and `TALLY_SIM_MUTATION`): replays one seed, printing its trace tail.
//!
//! Long run: `TALLY_SIM_SECONDS=36000 TALLY_SIM_SEEDS=1000000 cargo test --release -p
//! tally-cluster --test sim_cluster random_seeds -- --nocapture`.

mod simulation;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use simulation::lease_conformance::{self, ModelLeases, RedisLeases};
use simulation::{FaultCounts, Mutation, simulate};
use tally_cluster::testkit::{RedisServer, fast_config};

/// Seeds that once found something, or that cover a fault mix worth keeping.
const CORPUS: &[u64] = &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

/// Seeds a mutation must be caught within.
const MUTATION_SEEDS: u64 = 200;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|value| {
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, not {value:?}"))
    })
}

fn mutation_from_env() -> Option<Mutation> {
    let name = std::env::var("TALLY_SIM_MUTATION").ok()?;
    [
        Mutation::AckBeforeWrite,
        Mutation::TokensFromRedisCounter,
        Mutation::ReleaseBeforeFlush,
        Mutation::AdoptEveryView,
    ]
    .into_iter()
    .find(|m| format!("{m:?}") == name)
    .or_else(|| panic!("TALLY_SIM_MUTATION: no mutation named {name:?}"))
}

/// Runs `seed` with the real protocol; panics with the replay command and trace if it fails.
fn holds(seed: u64) -> FaultCounts {
    match simulate(seed, None) {
        Ok(run) => run.counts,
        Err(failure) => panic!("{failure}"),
    }
}

#[test]
fn regression_corpus_holds_every_invariant() {
    for &seed in CORPUS {
        holds(seed);
    }
}

#[test]
fn random_seeds_hold_every_invariant_and_fire_every_fault_kind() {
    if let Some(seed) = env_u64("TALLY_SIM_SEED") {
        match simulate(seed, mutation_from_env()) {
            Ok(run) => println!(
                "seed {seed} holds: {} events, faults {}",
                run.events, run.counts
            ),
            Err(failure) => panic!("{failure}"),
        }
        return;
    }
    let budget = Duration::from_secs(env_u64("TALLY_SIM_SECONDS").unwrap_or(120));
    let max = env_u64("TALLY_SIM_SEEDS").unwrap_or(1_000_000);
    let threads = env_u64("TALLY_SIM_THREADS").unwrap_or(2);
    let base = env_u64("TALLY_SIM_BASE").unwrap_or_else(|| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        (nanos as u64) | (1 << 40)
    });
    println!("random seeds from {base} (TALLY_SIM_BASE={base} repeats them), {threads} threads");
    let started = Instant::now();
    // The threads take the next seed from one counter: at least MIN_RANDOM_SEEDS whatever the
    // machine's speed (so what is checked never depends on timing), then more while the time
    // budget lasts.
    let next = AtomicU64::new(0);
    let (counts, seeds, events) = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let (mut counts, mut seeds, mut events) = (FaultCounts::default(), 0u64, 0u64);
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        if index >= max
                            || (index >= MIN_RANDOM_SEEDS && started.elapsed() >= budget)
                        {
                            return (counts, seeds, events);
                        }
                        match simulate(base.wrapping_add(index), None) {
                            Ok(run) => {
                                counts.add(&run.counts);
                                events += run.events;
                            }
                            Err(failure) => panic!("{failure}"),
                        }
                        seeds += 1;
                    }
                })
            })
            .collect();
        let mut total = (FaultCounts::default(), 0u64, 0u64);
        for worker in workers {
            let (counts, seeds, events) = worker
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            total.0.add(&counts);
            total.1 += seeds;
            total.2 += events;
        }
        total
    });
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{seeds} schedules in {secs:.1} s ({:.0} schedules/s, {events} events); faults: {counts}",
        seeds as f64 / secs
    );
    let never = counts.never_fired();
    assert!(never.is_empty(), "fault kinds that never fired: {never:?}");
}

#[test]
fn the_same_seed_gives_the_same_trace() {
    for seed in [0, 7, 42, 1_000_003, 987_654_321] {
        let first = simulate(seed, None).map_err(|f| f.to_string()).unwrap();
        let again = simulate(seed, None).map_err(|f| f.to_string()).unwrap();
        assert_eq!(
            (first.trace_hash, first.events),
            (again.trace_hash, again.events),
            "seed {seed}"
        );
    }
    let (a, b) = (simulate(1, None).unwrap(), simulate(2, None).unwrap());
    assert_ne!(
        a.trace_hash, b.trace_hash,
        "different seeds, different schedules"
    );
}

/// Random seeds run in every CI run however slow the machine is; the time budget adds more.
const MIN_RANDOM_SEEDS: u64 = 2_000;

/// Asserts that the simulator catches `mutation` within the mutation seed budget, with a
/// violation that names what it breaks.
fn caught(mutation: Mutation, expected: &[&str]) {
    for seed in 0..MUTATION_SEEDS {
        if let Err(failure) = simulate(seed, Some(mutation)) {
            assert!(
                expected.iter().any(|e| failure.violation.contains(e)),
                "{mutation:?} caught for another reason:\n{failure}"
            );
            println!("{mutation:?} caught by seed {seed}: {}", failure.violation);
            return;
        }
    }
    panic!("{mutation:?} was not caught within {MUTATION_SEEDS} seeds");
}

#[test]
fn acknowledging_before_the_write_is_caught() {
    caught(Mutation::AckBeforeWrite, &["before the store accepted"]);
}

#[test]
fn tokens_from_a_counter_that_restarts_with_redis_are_caught() {
    caught(
        Mutation::TokensFromRedisCounter,
        &["went down", "activated twice under token"],
    );
}

#[test]
fn releasing_the_lease_before_the_flush_is_caught() {
    caught(Mutation::ReleaseBeforeFlush, &["released the lease"]);
}

#[test]
fn adopting_every_membership_view_is_caught() {
    caught(Mutation::AdoptEveryView, &["its view went back"]);
}

/// The lease behaviours the Redis model assumes hold for the model itself...
#[tokio::test]
async fn the_redis_model_passes_the_lease_conformance_suite() {
    lease_conformance::run_all(|_| ModelLeases::default()).await;
}

/// ...and for the production lease code on a real `redis-server`.
#[tokio::test]
async fn a_real_redis_server_passes_the_lease_conformance_suite() {
    let server = RedisServer::start().await.unwrap();
    // A TTL long enough that only a stall of seconds between two calls of a case could let a
    // lease lapse under it; the expiry case awaits it on Redis's clock.
    let config = tally_cluster::CoordinationConfig {
        lease_ttl: Duration::from_secs(5),
        ..fast_config(&server, "unused")
    };
    lease_conformance::run_all(|prefix| RedisLeases::new(&config, prefix)).await;
}
