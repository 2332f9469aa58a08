//! The tally gateway (axum): sensor WebSocket and HTTP ingest, display WebSocket, REST registry
//! and live reads, auth, `/metrics`, health. [`start`] runs a whole node; the `tally` binary wraps
//! it. Only this crate knows about HTTP.

pub mod app;
pub mod auth;
mod display_ws;
pub mod error;
mod health;
mod ingest_http;
pub mod keys;
mod live_api;
mod registry_api;
mod secrets;
mod sensor_identity;
mod sensor_ws;
mod server;
pub mod telemetry;
mod ws_conn;

pub use server::{RunningNode, actor_settings, start, start_with_store};
