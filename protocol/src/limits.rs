//! Size and value limits applied while decoding.

/// Limits enforced by the codecs and by [`crate::Reading::validate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted encoded frame, in bytes.
    pub max_frame_bytes: usize,
    /// Most readings in one batch.
    pub max_batch_items: usize,
    /// Largest people count one reading may carry.
    pub max_count: u32,
    /// How far ahead of the node clock a reading's timestamp may be, in milliseconds.
    pub max_future_skew_ms: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frame_bytes: 256 * 1024,
            max_batch_items: 500,
            max_count: 100_000,
            max_future_skew_ms: 30_000,
        }
    }
}
