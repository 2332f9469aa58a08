//! Retrying a group commit that failed transiently ([`StoreError::is_retryable`]: connection
//! lost, timeout, serialization failure), with capped exponential backoff, for a bounded time.
//!
//! Retrying the same batch is safe: a write that failed may still have committed (the connection
//! broke after the commit), and writing it again stores the same rows (readings are keyed by
//! sensor and seq and inserted only if absent; room state and rollups are overwritten with the
//! same values). Writes stay strictly sequential: the persister starts no other write meanwhile,
//! and nobody is acknowledged before the write succeeded.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tally_storage::{SharedStore, StoreError, WriteBatch};

use crate::StorageHealth;

/// How the persister retries a group commit that failed transiently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteRetry {
    /// Retries stop once this long has passed since the first attempt (zero: no retry); the
    /// batch then fails, nothing of it acknowledged.
    pub retry_for: Duration,
    /// Wait before the first retry; it doubles after each one.
    pub first_backoff: Duration,
    /// Longest wait between two attempts.
    pub max_backoff: Duration,
}

impl Default for WriteRetry {
    fn default() -> Self {
        Self {
            retry_for: Duration::from_secs(30),
            first_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_secs(1),
        }
    }
}

impl WriteRetry {
    /// The wait after one of `backoff`: twice as long, at most `max_backoff`.
    fn next_backoff(&self, backoff: Duration) -> Duration {
        (backoff * 2).min(self.max_backoff)
    }
}

/// Writes `batch`, retrying transient failures as `retry` says and telling `health` how the
/// store fares. Returns the last error when the store keeps failing past `retry.retry_for`, or
/// at once for an error that is not retryable.
pub(crate) async fn write_with_retry(
    store: &SharedStore,
    batch: Arc<WriteBatch>,
    retry: WriteRetry,
    health: &StorageHealth,
) -> Result<(), StoreError> {
    let started = Instant::now();
    let mut backoff = retry.first_backoff;
    let mut attempt = 1_u32;
    loop {
        let error = match store.write_batch(Arc::clone(&batch)).await {
            Ok(()) => {
                health.write_succeeded();
                return Ok(());
            }
            Err(error) => error,
        };
        let retry_now = error.is_retryable() && started.elapsed() + backoff <= retry.retry_for;
        if error.is_retryable() {
            health.write_failed(&error, retry_now);
        }
        if !retry_now {
            return Err(error);
        }
        tracing::warn!(%error, attempt, ?backoff, "group commit failed transiently; retrying, acknowledgements wait");
        tokio::time::sleep(backoff).await;
        backoff = retry.next_backoff(backoff);
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let retry = WriteRetry {
            first_backoff: Duration::from_millis(300),
            max_backoff: Duration::from_secs(1),
            ..WriteRetry::default()
        };
        let mut waits = vec![retry.first_backoff];
        for _ in 0..3 {
            waits.push(retry.next_backoff(*waits.last().unwrap()));
        }
        let millis: Vec<u128> = waits.iter().map(Duration::as_millis).collect();
        assert_eq!(millis, [300, 600, 1000, 1000]);
    }
}
