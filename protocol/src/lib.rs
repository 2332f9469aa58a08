//! Every type that crosses a wire or a node in tally: ids, readings, sensor frames, display frames,
//! the MessagePack and JSON codecs, strict validation and the stable error codes.
//!
//! This crate does no I/O. Decoding is strict: a frame over the size limit, a batch over the item
//! limit, a count out of range or a timestamp in the far future is a typed [`ProtocolError`] that
//! maps to a stable [`ErrorCode`].
//!
//! [`analytics`] defines the utilization figures tally answers (pure math over readings);
//! [`api`] the REST API's own request bodies and query strings, with their checks.

pub mod analytics;
pub mod api;
mod codec;
mod display_frame;
mod error;
mod ids;
mod limits;
mod reading;
mod sensor_frame;
mod service_error;
mod tenant_frame;

pub use codec::{Codec, SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK};
pub use display_frame::{DisplayFrame, DisplayRequest, RoomOccupancy};
pub use error::{ErrorBody, ErrorCode, ErrorDetail, ProtocolError};
pub use ids::{IdError, MAX_ID_LEN, OfficeId, RoomId, SLUG_PATTERN, SensorId, TenantId};
pub use limits::Limits;
pub use reading::{MAX_SEQ, MIN_TIMESTAMP_MS, Reading, TimestampMs, now_ms, validate_batch};
pub use sensor_frame::{ReadingBatch, SensorFrame, ServerFrame};
pub use service_error::ServiceError;
pub use tenant_frame::{OfficeOccupancy, TenantFrame};
