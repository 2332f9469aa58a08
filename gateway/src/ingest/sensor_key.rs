//! Sensor authentication by key (the key is hashed; only hashes are stored), and how an open
//! sensor connection learns that its key stopped being valid.
//!
//! A sensor WebSocket re-checks its key (one indexed store read by hash) when this node
//! revokes a key of its sensor or deletes the sensor ([`SensorKeyEvents`]), and every
//! `auth.revocation_refresh` in any case: so a revocation made on another node, or a rotated
//! key whose overlap ended, closes it within that period (plus the read). HTTP batches look the
//! key up with every request, so they are refused at once.

use tally_protocol::{ErrorCode, SensorId, TenantId, now_ms};
use tally_storage::{KeyHash, Sensor};
use tokio::sync::broadcast;

use crate::auth::hash_key;
use crate::error::ApiError;
use crate::state::AppState;

/// The sensor a key belongs to, if the key is valid now.
///
/// # Errors
/// `unknown_sensor_key` for a key that matches no sensor (or was revoked, or expired);
/// `unavailable` while the node's store does not take writes (nothing is looked up then);
/// `unavailable` or `storage_failure` if the lookup fails (which degrades the node's storage
/// health).
pub(crate) async fn sensor_by_key(state: &AppState, key: &str) -> Result<Sensor, ApiError> {
    state.health.check()?;
    sensor_by_hash(state, &hash_key(key))
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::UnknownSensorKey, "the sensor key is not known"))
}

/// The sensor of a key hash valid now, `None` for a key no longer valid.
async fn sensor_by_hash(state: &AppState, hash: &KeyHash) -> Result<Option<Sensor>, ApiError> {
    state
        .store
        .sensor_by_key_hash(hash, now_ms())
        .await
        .inspect_err(|e| state.health.report_failure(e))
        .map_err(ApiError::from)
}

/// Close reason of a sensor connection whose key stopped being valid.
pub(crate) const KEY_NO_LONGER_VALID: &str =
    "the sensor key is no longer valid (revoked, expired after a rotation, or its sensor deleted)";

/// Whether the connection of `sensor` with key `hash` must close now: its key no longer
/// authenticates it. A store that cannot be read keeps the connection (a storage fault is the
/// node's, and its writes fail anyway); the next check tries again.
pub(crate) async fn key_revoked(state: &AppState, sensor: &Sensor, hash: &KeyHash) -> bool {
    match sensor_by_hash(state, hash).await {
        Ok(found) => found.as_ref() != Some(sensor),
        Err(err) => {
            tracing::warn!(error = %err.message, "sensor key not re-checked; the connection stays open");
            false
        }
    }
}

/// A change of a sensor's keys made on this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SensorKeyChange {
    /// The sensor's tenant.
    pub(crate) tenant: TenantId,
    /// The sensor whose keys were revoked, or which was deleted.
    pub(crate) sensor: SensorId,
}

/// Announces key revocations and sensor deletions made on this node to its open sensor
/// connections, which then re-check their key at once.
#[derive(Debug, Clone)]
pub(crate) struct SensorKeyEvents {
    sender: broadcast::Sender<SensorKeyChange>,
}

/// Changes a connection may fall behind by before it re-checks whatever they were.
const EVENTS_BUFFERED: usize = 256;

impl SensorKeyEvents {
    /// No connection listens yet.
    pub(crate) fn new() -> Self {
        Self {
            sender: broadcast::Sender::new(EVENTS_BUFFERED),
        }
    }

    /// Tells the open connections that `sensor`'s keys changed.
    pub(crate) fn changed(&self, tenant: &TenantId, sensor: &SensorId) {
        // No receiver (no open sensor connection) is fine.
        let _ = self.sender.send(SensorKeyChange {
            tenant: tenant.clone(),
            sensor: sensor.clone(),
        });
    }

    /// The changes from now on.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<SensorKeyChange> {
        self.sender.subscribe()
    }
}

/// Waits for the next change that may concern `sensor`: one of its own, or any after the
/// receiver fell behind. Pends forever once the sender is gone (the node is stopping).
pub(crate) async fn next_change_of(
    changes: &mut broadcast::Receiver<SensorKeyChange>,
    sensor: &Sensor,
) {
    loop {
        match changes.recv().await {
            Ok(change) if change.tenant == sensor.tenant && change.sensor == sensor.id => return,
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(_)) => return,
            Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
        }
    }
}
