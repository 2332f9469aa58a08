//! Sensor authentication by key (the key is hashed; only hashes are stored).

use tally_protocol::ErrorCode;
use tally_storage::Sensor;

use crate::auth::hash_key;
use crate::error::ApiError;
use crate::state::AppState;

/// The sensor a key belongs to.
///
/// # Errors
/// `unknown_sensor_key` for a key that matches no sensor; `unavailable` while the node's store
/// does not take writes (nothing is looked up then); `unavailable` or `storage_failure` if the
/// lookup fails (which degrades the node's storage health).
pub(crate) async fn sensor_by_key(state: &AppState, key: &str) -> Result<Sensor, ApiError> {
    state.health.check()?;
    state
        .store
        .sensor_by_key_hash(&hash_key(key))
        .await
        .inspect_err(|e| state.health.report_failure(e))?
        .ok_or_else(|| ApiError::new(ErrorCode::UnknownSensorKey, "the sensor key is not known"))
}
