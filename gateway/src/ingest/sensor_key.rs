//! Sensor authentication by key (the key is hashed; only hashes are stored).

use tally_protocol::ErrorCode;
use tally_storage::Sensor;

use crate::auth::hash_key;
use crate::error::ApiError;
use crate::state::AppState;

/// The sensor a key belongs to.
///
/// # Errors
/// `unknown_sensor_key` for a key that matches no sensor, `storage_failure` if the lookup fails.
pub(crate) async fn sensor_by_key(state: &AppState, key: &str) -> Result<Sensor, ApiError> {
    state
        .store
        .sensor_by_key_hash(&hash_key(key))
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::UnknownSensorKey, "the sensor key is not known"))
}
