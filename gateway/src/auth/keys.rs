//! Secrets: sensor keys (shown once, stored as SHA-256) and generated node secrets.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use tally_storage::KeyHash;

/// Prefix of sensor keys, so a leaked key is recognisable.
pub const SENSOR_KEY_PREFIX: &str = "tsk_";

/// 256 random bits, URL-safe base64.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new sensor key.
pub fn new_sensor_key() -> String {
    format!("{SENSOR_KEY_PREFIX}{}", random_secret())
}

/// The stored hash of a sensor key. Keys are 256-bit random secrets, so a fast hash is enough
/// (a slow password hash protects guessable secrets, which these are not).
pub fn hash_key(key: &str) -> KeyHash {
    KeyHash(Sha256::digest(key.as_bytes()).into())
}

/// Compares two secrets without an early exit on the first differing byte.
pub fn secrets_equal(a: &str, b: &str) -> bool {
    let (ha, hb) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    ha.iter()
        .zip(hb.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_hash_stably() {
        let (a, b) = (new_sensor_key(), new_sensor_key());
        assert_ne!(a, b);
        assert!(a.starts_with(SENSOR_KEY_PREFIX) && a.len() == 4 + 43);
        assert_eq!(hash_key(&a), hash_key(&a));
        assert_ne!(hash_key(&a), hash_key(&b));
        assert!(secrets_equal(&a, &a.clone()) && !secrets_equal(&a, &b));
    }
}
