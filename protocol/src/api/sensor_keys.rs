//! The body of a sensor key rotation (`POST /v1/tenants/{tenant}/sensors/{sensor}/keys/rotate`).

use std::time::Duration;

use serde::Deserialize;

use super::invalid;
use crate::ProtocolError;

/// How long the old keys stay valid after a rotation when the request does not say.
pub const DEFAULT_OVERLAP: Duration = Duration::from_secs(24 * 3600);

/// The longest overlap a rotation may ask for.
pub const MAX_OVERLAP: Duration = Duration::from_secs(7 * 24 * 3600);

/// Body of `POST …/keys/rotate`.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Rotate {
    /// How long the sensor's other keys stay valid, in seconds: 0 to 604800 (7 days), 86400
    /// (24 h) when absent. 0 ends them now (their open connections close as after a
    /// revocation, within `auth.revocation_refresh`).
    #[serde(default)]
    pub overlap_secs: Option<u64>,
}

impl Rotate {
    /// How long the sensor's other keys stay valid: `overlap_secs`, [`DEFAULT_OVERLAP`] when
    /// absent.
    ///
    /// # Errors
    ///
    /// `invalid_request` when it is longer than [`MAX_OVERLAP`].
    pub fn overlap(&self) -> Result<Duration, ProtocolError> {
        let overlap = self
            .overlap_secs
            .map_or(DEFAULT_OVERLAP, Duration::from_secs);
        if overlap > MAX_OVERLAP {
            return Err(invalid(format!(
                "overlap_secs is {}, more than {}",
                overlap.as_secs(),
                MAX_OVERLAP.as_secs()
            )));
        }
        Ok(overlap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_defaults_to_a_day_and_is_at_most_a_week() {
        let rotate = |overlap_secs| Rotate { overlap_secs }.overlap();
        assert_eq!(rotate(None), Ok(DEFAULT_OVERLAP));
        assert_eq!(rotate(Some(0)), Ok(Duration::ZERO));
        assert_eq!(rotate(Some(604_800)), Ok(MAX_OVERLAP));
        assert!(rotate(Some(604_801)).is_err());
        assert!(rotate(Some(u64::MAX)).is_err());
    }
}
