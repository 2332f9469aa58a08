//! Value encoding (MessagePack with field names) and error mapping of the embedded store.

use serde::{Serialize, de::DeserializeOwned};

use crate::StoreError;

/// Encodes a stored value.
pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    rmp_serde::to_vec_named(value)
        .map_err(|e| StoreError::Backend(format!("cannot encode value: {e}")))
}

/// Decodes a stored value; `what` names it in the error.
pub(crate) fn decode<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T, StoreError> {
    rmp_serde::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// Maps a fjall error.
#[expect(
    clippy::needless_pass_by_value,
    reason = "shaped for `map_err(backend)`"
)]
pub(super) fn backend(error: fjall::Error) -> StoreError {
    StoreError::Backend(error.to_string())
}

/// Reads every value under `prefix`, decoded, in key order.
pub(super) fn scan_prefix<T: DeserializeOwned>(
    keyspace: &fjall::Keyspace,
    prefix: &[u8],
    what: &str,
) -> Result<Vec<T>, StoreError> {
    keyspace
        .prefix(prefix)
        .map(|guard| {
            let (_, value) = guard.into_inner().map_err(backend)?;
            decode(what, &value)
        })
        .collect()
}

/// Reads one value, decoded.
pub(super) fn get<T: DeserializeOwned>(
    keyspace: &fjall::Keyspace,
    key: &[u8],
    what: &str,
) -> Result<Option<T>, StoreError> {
    keyspace
        .get(key)
        .map_err(backend)?
        .map(|value| decode(what, &value))
        .transpose()
}
