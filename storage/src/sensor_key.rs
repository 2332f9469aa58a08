//! A sensor's keys: a sensor has one or more, each stored only as its hash, each valid until
//! its expiry (none: until revoked). Rotation adds a key and gives the others an expiry, so
//! both work during the overlap; revocation deletes keys; deleting a sensor deletes them all.

use serde::{Deserialize, Serialize};
use tally_protocol::TimestampMs;

use crate::KeyHash;

/// One key of a sensor, as stored (never the secret itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SensorKey {
    /// SHA-256 of the secret.
    pub hash: KeyHash,
    /// When it was added (ms since the epoch); `None` for keys stored before tally kept it.
    pub created_at: Option<TimestampMs>,
    /// From this time on (ms since the epoch) the key is refused; `None`: until revoked.
    pub expires_at: Option<TimestampMs>,
}

impl SensorKey {
    /// A key added at `created_at` that does not expire.
    pub fn new(hash: KeyHash, created_at: TimestampMs) -> Self {
        Self {
            hash,
            created_at: Some(created_at),
            expires_at: None,
        }
    }

    /// Whether the key is accepted at `now`.
    pub fn valid_at(&self, now: TimestampMs) -> bool {
        self.expires_at.is_none_or(|expires_at| now < expires_at)
    }

    /// The key's public id: the first 8 bytes of its hash in hex (names it in the API and logs
    /// without revealing anything a sensor could authenticate with).
    pub fn id(&self) -> String {
        key_id(&self.hash)
    }
}

/// The public id of a key hash (see [`SensorKey::id`]).
pub fn key_id(hash: &KeyHash) -> String {
    hash.0[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// The earlier of an expiry in force and a new one (`None` is never).
pub(crate) fn earlier_expiry(
    current: Option<TimestampMs>,
    new: Option<TimestampMs>,
) -> Option<TimestampMs> {
    match (current, new) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_valid_before_its_expiry_only() {
        let key = SensorKey {
            expires_at: Some(100),
            ..SensorKey::new(KeyHash([7; 32]), 1)
        };
        assert!(key.valid_at(99));
        assert!(!key.valid_at(100));
        assert!(SensorKey::new(KeyHash([7; 32]), 1).valid_at(i64::MAX));
        assert_eq!(key.id(), "0707070707070707");
        assert_eq!(earlier_expiry(Some(5), Some(3)), Some(3));
        assert_eq!(earlier_expiry(None, Some(3)), Some(3));
        assert_eq!(earlier_expiry(Some(5), None), Some(5));
    }
}
