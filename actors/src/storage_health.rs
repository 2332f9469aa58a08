//! [`StorageHealth`]: whether this node's store takes writes now, shared by the persister (which
//! learns it from every group commit), a probe (which learns it while nothing is written) and
//! the gateway (which stops admitting readings and reports not-ready while it is not healthy).
//!
//! A storage fault is a node fault, not a tenant fault: every room of every tenant writes
//! through the same store, so when it fails the node as a whole stops taking readings (they
//! would only queue up unacknowledged) instead of letting rooms fail until their tenants are
//! quarantined.

use std::sync::Arc;
use std::time::Duration;

use tally_protocol::{ServiceError, TenantId};
use tally_storage::{SharedStore, StoreError};
use tokio::sync::watch;
use tokio::task::AbortHandle;

use crate::telemetry;

/// What the node knows of its store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageStatus {
    /// The last write (or probe) succeeded.
    Healthy,
    /// Writes or reads fail with an error that may clear (connection lost, timeout, server
    /// restarting); the node refuses readings until a write or a probe succeeds again.
    Degraded(String),
    /// A write failed with an error that does not clear while the process runs (the embedded
    /// store poisons itself after a failed fsync); the node stops, and exits non-zero.
    Failed(String),
}

/// The node-wide storage health; cheap to clone (all clones share one state).
#[derive(Debug, Clone)]
pub struct StorageHealth {
    state: Arc<watch::Sender<HealthState>>,
}

/// The status and whether the persister is retrying a write (then a probe does not decide).
#[derive(Debug, Clone)]
struct HealthState {
    status: StorageStatus,
    retrying_write: bool,
}

impl Default for StorageHealth {
    fn default() -> Self {
        metrics::gauge!(telemetry::STORAGE_HEALTHY).set(1.0);
        Self {
            state: Arc::new(watch::Sender::new(HealthState {
                status: StorageStatus::Healthy,
                retrying_write: false,
            })),
        }
    }
}

impl StorageHealth {
    /// The status now.
    pub fn status(&self) -> StorageStatus {
        self.state.borrow().status.clone()
    }

    /// `Ok` while healthy; otherwise the [`ServiceError::Unavailable`] to answer a reading with
    /// (nothing of it was acknowledged; the sensor retries later).
    ///
    /// # Errors
    /// [`ServiceError::Unavailable`] naming the storage problem.
    pub fn check(&self) -> Result<(), ServiceError> {
        match self.status() {
            StorageStatus::Healthy => Ok(()),
            StorageStatus::Degraded(reason) | StorageStatus::Failed(reason) => Err(
                ServiceError::Unavailable(format!("storage is unavailable: {reason}")),
            ),
        }
    }

    /// Records a failed read or write outside the persister: the node turns degraded unless the
    /// error is about the entry asked for (not found, already exists) rather than the store.
    pub fn report_failure(&self, error: &StoreError) {
        if !matches!(
            error,
            StoreError::NotFound { .. } | StoreError::AlreadyExists { .. }
        ) {
            self.set(StorageStatus::Degraded(error.to_string()), None);
        }
    }

    /// Waits until the status satisfies `wanted`; returns it.
    pub async fn wait_for(&self, mut wanted: impl FnMut(&StorageStatus) -> bool) -> StorageStatus {
        let mut states = self.state.subscribe();
        let state = states
            .wait_for(|state| wanted(&state.status))
            .await
            .expect("the sender lives in self");
        state.status.clone()
    }

    /// A write failed transiently; `retrying` says whether the persister tries it again.
    pub(crate) fn write_failed(&self, error: &StoreError, retrying: bool) {
        self.set(StorageStatus::Degraded(error.to_string()), Some(retrying));
    }

    /// A write succeeded: the store takes writes.
    pub(crate) fn write_succeeded(&self) {
        self.set(StorageStatus::Healthy, Some(false));
    }

    /// A write failed for good: the node stops.
    pub(crate) fn fail(&self, error: &StoreError) {
        self.set(StorageStatus::Failed(error.to_string()), Some(false));
    }

    /// A probe read succeeded: healthy again, unless a write is being retried (its outcome
    /// decides) or the store failed for good.
    fn probe_succeeded(&self) {
        let retrying = self.state.borrow().retrying_write;
        if !retrying {
            self.set(StorageStatus::Healthy, None);
        }
    }

    /// Moves to `status` (never out of `Failed`), logging and counting a change.
    fn set(&self, status: StorageStatus, retrying_write: Option<bool>) {
        self.state.send_if_modified(|state| {
            if let Some(retrying) = retrying_write {
                state.retrying_write = retrying;
            }
            let changed = std::mem::discriminant(&state.status) != std::mem::discriminant(&status);
            if !changed || matches!(state.status, StorageStatus::Failed(_)) {
                return false;
            }
            match &status {
                StorageStatus::Healthy => tracing::info!("storage healthy again; admitting readings"),
                StorageStatus::Degraded(reason) => {
                    tracing::warn!(%reason, "storage degraded; refusing readings until it recovers");
                }
                StorageStatus::Failed(reason) => {
                    tracing::error!(%reason, "storage failed for good; the node stops");
                }
            }
            let healthy = if status == StorageStatus::Healthy { 1.0 } else { 0.0 };
            metrics::gauge!(telemetry::STORAGE_HEALTHY).set(healthy);
            state.status = status;
            true
        });
    }
}

/// The probe of a degraded store, running while its persister lives; aborted when dropped.
#[derive(Debug)]
pub(crate) struct ProbeTask(AbortHandle);

impl ProbeTask {
    /// While `health` is degraded, reads `store` every `interval` and marks it healthy once a
    /// read succeeds. Nothing is written while degraded (the gateway refuses readings), so
    /// without the probe a node would stay degraded after its store came back.
    pub(crate) fn spawn(health: StorageHealth, store: SharedStore, interval: Duration) -> Self {
        let probe = TenantId::new("storage-probe").expect("a valid tenant id");
        let task = tokio::spawn(async move {
            loop {
                health
                    .wait_for(|status| matches!(status, StorageStatus::Degraded(_)))
                    .await;
                tokio::time::sleep(interval).await;
                match store.tenant(&probe).await {
                    Ok(_) => health.probe_succeeded(),
                    Err(error) => tracing::debug!(%error, "storage probe failed"),
                }
            }
        });
        Self(task.abort_handle())
    }
}

impl Drop for ProbeTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unavailable() -> StoreError {
        StoreError::Unavailable("connection reset".into())
    }

    #[test]
    fn a_failed_write_degrades_and_a_successful_one_heals() {
        let health = StorageHealth::default();
        assert_eq!(health.check(), Ok(()));
        health.write_failed(&unavailable(), true);
        assert!(matches!(health.status(), StorageStatus::Degraded(_)));
        let refused = health.check().unwrap_err();
        assert!(
            refused.to_string().contains("connection reset"),
            "{refused}"
        );
        health.write_succeeded();
        assert_eq!(health.status(), StorageStatus::Healthy);
    }

    #[test]
    fn a_probe_does_not_heal_while_a_write_is_retried() {
        let health = StorageHealth::default();
        health.write_failed(&unavailable(), true);
        health.probe_succeeded();
        assert!(matches!(health.status(), StorageStatus::Degraded(_)));
        health.write_failed(&unavailable(), false);
        health.probe_succeeded();
        assert_eq!(health.status(), StorageStatus::Healthy);
    }

    #[test]
    fn failed_is_final_and_entry_errors_are_not_store_faults() {
        let health = StorageHealth::default();
        health.report_failure(&StoreError::NotFound {
            kind: "room",
            id: "r".into(),
        });
        assert_eq!(health.status(), StorageStatus::Healthy);
        health.fail(&StoreError::Backend("fsync failed".into()));
        health.write_succeeded();
        health.probe_succeeded();
        assert!(matches!(health.status(), StorageStatus::Failed(_)));
    }

    #[tokio::test]
    async fn the_probe_heals_a_degraded_store_that_answers() {
        let dir = tempfile::tempdir().unwrap();
        let store: SharedStore = Arc::new(tally_storage::EmbeddedStore::open(dir.path()).unwrap());
        let health = StorageHealth::default();
        let _probe = ProbeTask::spawn(health.clone(), store, Duration::from_millis(1));
        health.report_failure(&unavailable());
        let status = health
            .wait_for(|status| *status == StorageStatus::Healthy)
            .await;
        assert_eq!(status, StorageStatus::Healthy);
    }
}
