//! The column form of a rollup's bucket statistics on the networked backends: MessagePack with
//! field names, as room states are kept (the embedded store encodes whole rollups that way).

use tally_protocol::analytics::BucketStats;

use crate::StoreError;

/// Encodes a rollup's bucket statistics.
pub(crate) fn encode_stats(stats: &BucketStats) -> Result<Vec<u8>, StoreError> {
    rmp_serde::to_vec_named(stats)
        .map_err(|e| StoreError::Backend(format!("cannot encode rollup statistics: {e}")))
}

/// Decodes a rollup's bucket statistics.
pub(crate) fn decode_stats(bytes: &[u8]) -> Result<BucketStats, StoreError> {
    rmp_serde::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("rollup statistics: {e}")))
}
