//! Calls in flight from a node to Redis or the store, ordered so that the model keeps them
//! sorted (states that differ only in the order calls were made merge).

use tally_cluster::ownership::decision::WriteOutcome;
use tally_cluster::ownership::{Event, TokenSource};

/// Where a token is taken from (an ordered copy of [`TokenSource`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Source {
    /// The store's conditional increment.
    Store,
    /// A Redis counter (the mutation).
    RedisCounter,
}

impl From<TokenSource> for Source {
    fn from(source: TokenSource) -> Self {
        match source {
            TokenSource::Store => Self::Store,
            TokenSource::RedisCounter => Self::RedisCounter,
        }
    }
}

/// A call a machine's command makes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Call {
    /// `SET NX PX`.
    Acquire,
    /// Extend the lease if ours.
    Renew,
    /// Delete the lease if ours (no answer awaited).
    Release,
    /// Take a token.
    Mint(Source),
    /// A batch write under `token`.
    Write {
        /// The machine's batch number.
        batch: u64,
        /// The token it carries.
        token: u64,
        /// Its readings.
        readings: Vec<u8>,
    },
}

/// What a call that landed answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Answer {
    /// The lease was set or extended.
    LeaseDone,
    /// Another holds the lease, or it is gone.
    LeaseNotOurs,
    /// A token.
    Minted(u64),
    /// A write's outcome: accepted or fenced (as an ordered code).
    Written(Outcome),
}

/// An ordered copy of the outcomes a landed write has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Outcome {
    /// Accepted under its token.
    Accepted,
    /// A higher token is stored.
    Fenced,
}

impl From<Outcome> for WriteOutcome {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Accepted => Self::Accepted,
            Outcome::Fenced => Self::Fenced,
        }
    }
}

/// How far a call got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Stage {
    /// On its way.
    Sent,
    /// Landed; its answer is on its way back.
    Answered(Answer),
    /// Its caller timed out; it may still land (answering no one) or be lost.
    Orphan,
}

/// A call in flight from node `node` (incarnation `inc`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Flight {
    /// The calling node.
    pub(crate) node: u8,
    /// Its incarnation when it called.
    pub(crate) inc: u8,
    /// The call.
    pub(crate) call: Call,
    /// How far it got.
    pub(crate) stage: Stage,
}

impl Call {
    /// The event its `answer` is to the caller.
    pub(crate) fn event(&self, answer: Answer) -> Event<u8> {
        match (self, answer) {
            (Self::Acquire, Answer::LeaseDone) => Event::LeaseAcquired,
            (Self::Acquire, _) => Event::LeaseRefused,
            (Self::Renew, Answer::LeaseDone) => Event::LeaseRenewed,
            (Self::Renew, _) => Event::LeaseNotHeld,
            (Self::Write { batch, .. }, Answer::Written(outcome)) => Event::WriteDone {
                batch: *batch,
                outcome: outcome.into(),
            },
            (_, Answer::Minted(token)) => Event::TokenMinted(token),
            (call, answer) => unreachable!("{call:?} does not answer {answer:?}"),
        }
    }

    /// The event a timeout of this call is to the caller (`None`: nothing is awaited).
    pub(crate) fn failure(&self) -> Option<Event<u8>> {
        Some(match self {
            Self::Acquire => Event::LeaseUnreachable,
            Self::Renew => Event::LeaseRenewUnreachable,
            Self::Release => return None,
            Self::Mint(_) => Event::TokenFailed,
            Self::Write { batch, .. } => Event::WriteDone {
                batch: *batch,
                outcome: WriteOutcome::Failed,
            },
        })
    }
}
