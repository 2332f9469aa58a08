//! A clean stop for open WebSockets: when the node stops, every sensor and display session is
//! told (it sends the acks it owes, then a close frame 1001 "going away" with a reason), and the
//! node waits for them before it stops its actors.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};
use tokio_util::task::TaskTracker;
use tokio_util::task::task_tracker::TrackedFuture;

/// The node's stop signal and its open WebSocket sessions.
#[derive(Debug, Clone, Default)]
pub(crate) struct Shutdown {
    stopping: CancellationToken,
    sessions: TaskTracker,
}

impl Shutdown {
    /// Counts `session` as open until it ends; the node waits for it when stopping.
    pub(crate) fn track<F: Future>(&self, session: F) -> TrackedFuture<F> {
        self.sessions.track_future(session)
    }

    /// Resolves when the node starts stopping.
    pub(crate) fn stopping(&self) -> WaitForCancellationFuture<'_> {
        self.stopping.cancelled()
    }

    /// Tells every session to close and waits up to `patience` for them. Returns how many were
    /// still open then.
    pub(crate) async fn close_sessions(&self, patience: Duration) -> usize {
        self.stopping.cancel();
        self.sessions.close();
        let _ = tokio::time::timeout(patience, self.sessions.wait()).await;
        self.sessions.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sessions_are_told_and_waited_for() {
        let shutdown = Shutdown::default();
        let session = {
            let shutdown = shutdown.clone();
            tokio::spawn(
                shutdown
                    .clone()
                    .track(async move { shutdown.stopping().await }),
            )
        };
        assert_eq!(shutdown.close_sessions(Duration::from_secs(20)).await, 0);
        session.await.unwrap();
    }
}
