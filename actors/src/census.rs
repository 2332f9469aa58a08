//! How many actors of each kind a node has alive. Each actor keeps a [`CensusGuard`] in its state,
//! so the count drops however the actor ends (stop, panic, or killed with its supervisor) —
//! `post_stop` alone would miss the last two. Tests assert that a stopped node left none behind,
//! and the counts are exported as the `tally_actors_live{kind}` gauge.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

use crate::telemetry;

/// The kinds of actor a node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ActorKind {
    /// The node supervisor.
    Node,
    /// The persister.
    Persister,
    /// A tenant supervisor.
    Tenant,
    /// An office.
    Office,
    /// A room.
    Room,
}

impl ActorKind {
    const ALL: [ActorKind; 5] = [
        Self::Node,
        Self::Persister,
        Self::Tenant,
        Self::Office,
        Self::Room,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::Node => "node",
            Self::Persister => "persister",
            Self::Tenant => "tenant",
            Self::Office => "office",
            Self::Room => "room",
        }
    }
}

/// Live actors of one node, by kind.
#[derive(Debug, Clone, Default)]
pub(crate) struct ActorCensus(Arc<Counts>);

#[derive(Debug, Default)]
struct Counts {
    live: [AtomicUsize; 5],
    changed: Notify,
}

impl ActorCensus {
    /// Counts one more live actor of `kind` until the guard is dropped.
    pub(crate) fn enter(&self, kind: ActorKind) -> CensusGuard {
        self.0.live[kind as usize].fetch_add(1, Ordering::SeqCst);
        metrics::gauge!(telemetry::ACTORS_LIVE, "kind" => kind.label()).increment(1.0);
        CensusGuard {
            census: self.clone(),
            kind,
        }
    }

    /// Live actors of `kind`.
    pub(crate) fn live(&self, kind: ActorKind) -> usize {
        self.0.live[kind as usize].load(Ordering::SeqCst)
    }

    /// Live actors of every kind together.
    pub(crate) fn total(&self) -> usize {
        ActorKind::ALL.iter().map(|kind| self.live(*kind)).sum()
    }

    /// Waits until no actor is alive (actors killed with a failed supervisor end a little after
    /// it), or `timeout` passes; returns how many are still alive.
    pub(crate) async fn wait_empty(&self, timeout: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changed = self.0.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let live = self.total();
            if live == 0 || tokio::time::timeout_at(deadline, changed).await.is_err() {
                return self.total();
            }
        }
    }
}

/// One live actor in an [`ActorCensus`]; kept in the actor's state.
#[derive(Debug)]
pub(crate) struct CensusGuard {
    census: ActorCensus,
    kind: ActorKind,
}

impl Drop for CensusGuard {
    fn drop(&mut self) {
        self.census.0.live[self.kind as usize].fetch_sub(1, Ordering::SeqCst);
        self.census.0.changed.notify_waiters();
        metrics::gauge!(telemetry::ACTORS_LIVE, "kind" => self.kind.label()).decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_count_until_dropped() {
        let census = ActorCensus::default();
        let room = census.enter(ActorKind::Room);
        let office = census.enter(ActorKind::Office);
        assert_eq!((census.live(ActorKind::Room), census.total()), (1, 2));
        drop(room);
        assert_eq!((census.live(ActorKind::Room), census.total()), (0, 1));
        drop(office);
        assert_eq!(census.total(), 0);
    }

    #[tokio::test]
    async fn wait_empty_wakes_when_the_last_actor_ends() {
        let census = ActorCensus::default();
        let room = census.enter(ActorKind::Room);
        let waiter = tokio::spawn({
            let census = census.clone();
            async move { census.wait_empty(Duration::from_secs(30)).await }
        });
        tokio::task::yield_now().await;
        drop(room);
        assert_eq!(waiter.await.unwrap(), 0);
        let stuck = census.enter(ActorKind::Office);
        assert_eq!(
            census.wait_empty(Duration::from_millis(1)).await,
            1,
            "reports what is left at the deadline"
        );
        drop(stuck);
    }
}
