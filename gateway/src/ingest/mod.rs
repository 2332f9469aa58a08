//! The sensor path: the sensor WebSocket, HTTP batches, sensor-key authentication and the
//! admission of readings (per connection and node-wide).

mod admission;
pub(crate) mod http;
mod sensor_key;
pub(crate) mod sensor_ws;

pub(crate) use admission::NodeAdmission;
pub(crate) use sensor_key::SensorKeyEvents;
