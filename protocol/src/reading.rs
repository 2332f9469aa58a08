//! One people-count reading from one sensor.

use serde::{Deserialize, Serialize};

use crate::{Limits, ProtocolError};

/// Milliseconds since the Unix epoch (UTC).
pub type TimestampMs = i64;

/// The node clock: milliseconds since the Unix epoch.
pub fn now_ms() -> TimestampMs {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Earliest accepted timestamp: 2000-01-01T00:00:00Z. Anything older is a sensor with no clock.
pub const MIN_TIMESTAMP_MS: TimestampMs = 946_684_800_000;

/// A sensor's people count at a moment.
///
/// `seq` rises by at least one per reading of the same sensor; the node drops a reading whose
/// `seq` it has already applied, which makes resending after a reconnect safe.
///
/// # Examples
/// JSON form: `{"seq": 42, "ts": 1764000000000, "count": 7}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Reading {
    /// Per-sensor sequence number, starting at 1.
    pub seq: u64,
    /// Sensor time of the count, milliseconds since the Unix epoch.
    #[cfg_attr(feature = "openapi", schema(value_type = i64))]
    pub ts: TimestampMs,
    /// People counted. Signed on the wire so that a negative count gets a clear error.
    pub count: i64,
}

/// Highest `seq` a reading may carry: 2^53 − 1, the largest integer every JSON implementation
/// represents exactly. A bound well below `u64::MAX` also means a sensor can never reach a seq
/// after which it could send nothing more.
pub const MAX_SEQ: u64 = (1 << 53) - 1;

impl Reading {
    /// Checks value ranges against `limits`, with `now_ms` the node clock.
    ///
    /// # Errors
    /// [`ProtocolError::InvalidSeq`], [`ProtocolError::CountOutOfRange`],
    /// [`ProtocolError::TimestampInFuture`] or [`ProtocolError::TimestampTooOld`].
    pub fn validate(&self, limits: &Limits, now_ms: TimestampMs) -> Result<(), ProtocolError> {
        if !(1..=MAX_SEQ).contains(&self.seq) {
            return Err(ProtocolError::InvalidSeq { seq: self.seq });
        }
        if self.count < 0 || self.count > i64::from(limits.max_count) {
            return Err(ProtocolError::CountOutOfRange {
                seq: self.seq,
                count: self.count,
                max: limits.max_count,
            });
        }
        if self.ts > now_ms.saturating_add(limits.max_future_skew_ms) {
            return Err(ProtocolError::TimestampInFuture {
                seq: self.seq,
                ts: self.ts,
                now: now_ms,
            });
        }
        if self.ts < MIN_TIMESTAMP_MS {
            return Err(ProtocolError::TimestampTooOld {
                seq: self.seq,
                ts: self.ts,
            });
        }
        Ok(())
    }

    /// The count as `u32`; only meaningful after [`Reading::validate`].
    pub fn count_u32(&self) -> u32 {
        u32::try_from(self.count.max(0)).unwrap_or(u32::MAX)
    }
}

/// Validates every reading of a batch and its size.
///
/// # Errors
/// [`ProtocolError::EmptyBatch`], [`ProtocolError::TooManyItems`] or the first reading's error.
pub fn validate_batch(
    items: &[Reading],
    limits: &Limits,
    now_ms: TimestampMs,
) -> Result<(), ProtocolError> {
    if items.is_empty() {
        return Err(ProtocolError::EmptyBatch);
    }
    if items.len() > limits.max_batch_items {
        return Err(ProtocolError::TooManyItems {
            items: items.len(),
            max: limits.max_batch_items,
        });
    }
    items
        .iter()
        .try_for_each(|reading| reading.validate(limits, now_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: TimestampMs = 1_764_000_000_000;

    fn reading(seq: u64, ts: TimestampMs, count: i64) -> Reading {
        Reading { seq, ts, count }
    }

    #[test]
    fn accepts_valid_reading() {
        assert!(reading(1, NOW, 0).validate(&Limits::default(), NOW).is_ok());
        assert!(
            reading(1, NOW + 30_000, 100_000)
                .validate(&Limits::default(), NOW)
                .is_ok()
        );
    }

    #[test]
    fn rejects_out_of_range_values() {
        let limits = Limits::default();
        let code = |r: Reading| r.validate(&limits, NOW).unwrap_err().code();
        assert_eq!(code(reading(0, NOW, 1)), crate::ErrorCode::InvalidSeq);
        assert_eq!(
            code(reading(MAX_SEQ + 1, NOW, 1)),
            crate::ErrorCode::InvalidSeq
        );
        assert_eq!(
            code(reading(u64::MAX, NOW, 1)),
            crate::ErrorCode::InvalidSeq
        );
        assert!(
            reading(MAX_SEQ, NOW, 1)
                .validate(&Limits::default(), NOW)
                .is_ok()
        );
        assert_eq!(code(reading(1, NOW, -1)), crate::ErrorCode::CountOutOfRange);
        assert_eq!(
            code(reading(1, NOW, 100_001)),
            crate::ErrorCode::CountOutOfRange
        );
        assert_eq!(
            code(reading(1, NOW + 30_001, 1)),
            crate::ErrorCode::TimestampInFuture
        );
        assert_eq!(
            code(reading(1, 1_000, 1)),
            crate::ErrorCode::TimestampTooOld
        );
    }

    #[test]
    fn batch_limits() {
        let limits = Limits {
            max_batch_items: 2,
            ..Limits::default()
        };
        assert_eq!(
            validate_batch(&[], &limits, NOW).unwrap_err().code(),
            crate::ErrorCode::EmptyBatch
        );
        let three = [reading(1, NOW, 1), reading(2, NOW, 1), reading(3, NOW, 1)];
        assert_eq!(
            validate_batch(&three, &limits, NOW).unwrap_err().code(),
            crate::ErrorCode::TooManyItems
        );
        assert!(validate_batch(&three[..2], &limits, NOW).is_ok());
    }
}
