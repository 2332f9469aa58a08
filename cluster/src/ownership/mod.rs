//! The cluster protocol for one office on one node, as pure code: no tokio, ractor, clock or
//! randomness inside, time is an input, no unordered maps.
//!
//! - `decision.rs`: the decisions (claim or refuse, hand off on a view change, what a lost
//!   lease means, the order of giving up, when an ack may be sent), as functions the
//!   production router ([`crate::cluster_router`]) calls.
//! - `machine.rs`: [`OfficeOwnership`], the state machine built on those decisions, events in,
//!   commands out; the deterministic simulator (`cluster/tests/simulation/`) drives it on
//!   several simulated nodes.
//!
//! [`Mutation`] names known bugs the simulator must catch; a machine carries one only when
//! built with the `mutations` feature (tests), never in what `tally` runs.

pub mod decision;
mod machine;

pub use machine::{Command, Event, LeaseTiming, OfficeOwnership, Phase, TokenSource};

/// A known bug a test can put into [`OfficeOwnership`] (with the `mutations` feature) to check
/// that the simulator catches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mutation {
    /// Acknowledge readings when their write is sent, before the store accepted it.
    AckBeforeWrite,
    /// Take fencing tokens from a Redis counter, which a Redis restart sets back.
    TokensFromRedisCounter,
    /// Release the lease of an office being given up before its last readings are written.
    ReleaseBeforeFlush,
    /// Publish every membership view read, with no epoch order and no hold-over
    /// ([`crate::membership::ViewHold`]).
    AdoptEveryView,
}

#[cfg(test)]
mod tests;
