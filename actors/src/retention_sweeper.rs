//! [`RetentionSweeper`]: a task per node that applies every tenant's retention
//! ([`tally_storage::Store::apply_retention`]) on an interval, and on request.
//!
//! Sweeps run one at a time. Each is logged (what it deleted, how long it took) and counted in
//! the `tally_retention_*` metrics; a failed sweep is logged at WARN, counted, reported to the
//! node's [`StorageHealth`] like any failed store operation, and retried at the next interval
//! (a sweep deletes only rows already due, so running it again is harmless). Several nodes on
//! one shared store may sweep at once: the store's sweep is safe under concurrency.

use std::time::{Duration, Instant};

use tally_protocol::{ServiceError, now_ms};
use tally_storage::{RetentionPolicy, RetentionReport, SharedStore};
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;

use crate::{StorageHealth, telemetry};

/// A request for one sweep now, answered with its report.
type SweepRequest = oneshot::Sender<Result<RetentionReport, ServiceError>>;

/// Handle on a node's retention sweeper; cheap to clone. The task stops with
/// [`RetentionSweeper::stop`].
#[derive(Debug, Clone)]
pub struct RetentionSweeper {
    requests: mpsc::Sender<SweepRequest>,
    task: AbortHandle,
}

impl RetentionSweeper {
    /// Starts sweeping `store` every `interval` (the first sweep one interval from now) with
    /// `defaults` for tenants without a policy of their own.
    pub fn start(
        store: SharedStore,
        defaults: RetentionPolicy,
        interval: Duration,
        health: StorageHealth,
    ) -> Self {
        let (requests, mut pending) = mpsc::channel::<SweepRequest>(16);
        let task = tokio::spawn(async move {
            let start = tokio::time::Instant::now() + interval;
            let mut ticks = tokio::time::interval_at(start, interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let reply = tokio::select! {
                    _ = ticks.tick() => None,
                    request = pending.recv() => match request {
                        Some(reply) => Some(reply),
                        None => return,
                    },
                };
                let result = sweep(&store, &defaults, &health).await;
                if let Some(reply) = reply {
                    let _ = reply.send(result);
                }
            }
        });
        Self {
            requests,
            task: task.abort_handle(),
        }
    }

    /// Runs one sweep now (after the one in progress, if any) and returns what it deleted.
    ///
    /// # Errors
    /// The store's error, or [`ServiceError::Unavailable`] if the sweeper has stopped.
    pub async fn sweep_now(&self) -> Result<RetentionReport, ServiceError> {
        let stopped = || ServiceError::Unavailable("the retention sweeper has stopped".into());
        let (reply, answer) = oneshot::channel();
        self.requests.send(reply).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Stops the sweeper (a sweep in progress is abandoned; the next one finishes its work).
    pub fn stop(&self) {
        self.task.abort();
    }
}

/// One sweep, measured, logged and counted.
async fn sweep(
    store: &SharedStore,
    defaults: &RetentionPolicy,
    health: &StorageHealth,
) -> Result<RetentionReport, ServiceError> {
    let started = Instant::now();
    let result = store.apply_retention(defaults, now_ms()).await;
    let seconds = started.elapsed().as_secs_f64();
    metrics::histogram!(telemetry::RETENTION_SWEEP_SECONDS).record(seconds);
    match result {
        Ok(report) => {
            metrics::counter!(telemetry::RETENTION_SWEEPS, "outcome" => "ok").increment(1);
            metrics::counter!(telemetry::RETENTION_DELETED, "kind" => "readings")
                .increment(report.readings);
            metrics::counter!(telemetry::RETENTION_DELETED, "kind" => "rollups")
                .increment(report.rollups);
            metrics::counter!(telemetry::RETENTION_PARTITIONS_DROPPED)
                .increment(report.partitions_dropped);
            tracing::info!(
                tenants = report.tenants,
                readings = report.readings,
                rollups = report.rollups,
                partitions_dropped = report.partitions_dropped,
                seconds,
                "retention sweep finished"
            );
            Ok(report)
        }
        Err(err) => {
            metrics::counter!(telemetry::RETENTION_SWEEPS, "outcome" => "error").increment(1);
            tracing::warn!(error = %err, seconds, "retention sweep failed; retried at the next interval");
            health.report_failure(&err);
            Err(err.into())
        }
    }
}
