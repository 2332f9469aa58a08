//! Exhaustive model check (stateright) of lease + fence + ack for one office on two nodes at
//! tiny bounds (up to 3 tokens, 2 readings, a few ticks of time), driving the very
//! `tally_cluster::ownership::OfficeOwnership` transitions that production and the seeded
//! simulator (`sim_cluster.rs`) use. Where the simulator samples thousands of schedules, this
//! visits every interleaving within the bounds: each in-flight Redis or store call may land,
//! answer, time out (having landed or not) in any order; nodes crash, pause with a frozen clock
//! and resume; Redis restarts empty; the view moves the office.
//!
//! Properties: an ack only for readings the store accepted under the ack's token (the highest
//! then: the store rejects lower ones); one activation per token; the store's token never goes
//! down; a node never has a write fenced off by an owner it let in by releasing its lease first.
//! Each `Mutation` breaks one of them, and the check finds a counterexample for it.

mod model;

use std::time::Instant;

use stateright::{Checker, HasDiscoveries, Model};
use tally_cluster::ownership::Mutation;

use model::{
    ACKED_UNACCEPTED, ACTIVATED_TWICE, FENCED_AFTER_RELEASE, OfficeModel, TOKEN_WENT_DOWN,
};

#[test]
fn lease_fence_and_ack_hold_in_every_interleaving_at_tiny_bounds() {
    let started = Instant::now();
    let checker = OfficeModel::new(None).checker().spawn_bfs().join();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "model check: {} states ({} unique), depth {}, in {secs:.1} s",
        checker.state_count(),
        checker.unique_state_count(),
        checker.max_depth()
    );
    // The `always` properties have no counterexample; the `sometimes` ones (an ack, a fenced
    // write, a second activation) are reached, so the bounds exercise what they must.
    checker.assert_properties();
}

/// Asserts that the model check of `mutation` finds a counterexample to `property`.
fn counterexample(mutation: Mutation, property: &'static str) {
    let started = Instant::now();
    let checker = OfficeModel::new(Some(mutation))
        .checker()
        .finish_when(HasDiscoveries::AnyOf([property].into()))
        .spawn_bfs()
        .join();
    let path = checker.discovery(property).unwrap_or_else(|| {
        panic!(
            "{mutation:?}: no counterexample to {property:?} in {} states",
            checker.unique_state_count()
        )
    });
    println!(
        "{mutation:?}: counterexample to {property:?} in {} steps, after {} states ({:.1} s):\n{:?}",
        path.clone().into_actions().len(),
        checker.unique_state_count(),
        started.elapsed().as_secs_f64(),
        path.into_actions()
    );
}

#[test]
fn acknowledging_before_the_write_has_a_counterexample() {
    counterexample(Mutation::AckBeforeWrite, ACKED_UNACCEPTED);
}

#[test]
fn tokens_from_a_counter_that_restarts_with_redis_have_a_counterexample() {
    counterexample(Mutation::TokensFromRedisCounter, ACTIVATED_TWICE);
    counterexample(Mutation::TokensFromRedisCounter, TOKEN_WENT_DOWN);
}

#[test]
fn releasing_the_lease_before_the_flush_has_a_counterexample() {
    counterexample(Mutation::ReleaseBeforeFlush, FENCED_AFTER_RELEASE);
}
