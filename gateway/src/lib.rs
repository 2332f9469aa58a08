//! The tally gateway (axum): sensor WebSocket and HTTP ingest, display WebSocket, REST registry
//! and live reads, auth, `/metrics`, health. [`start`] runs a whole node; the `tally` binary wraps
//! it. Only this crate knows about HTTP; it reaches rooms and offices only through the handles of
//! `tally-cluster`.
//!
//! Folders by concern: `auth/` (who is calling), `ingest/` (sensors), `display/` (wall
//! displays), `api/` (REST), with `state.rs` (what handlers share), `routes.rs` (every route)
//! and `server.rs` (starting and stopping a node).

mod api;
pub mod audit;
pub mod auth;
pub mod demo;
mod display;
pub mod error;
mod ingest;
mod listener;
pub mod logging;
mod openapi;
mod quota;
mod routes;
mod server;
mod shutdown;
mod slots;
mod source_rate;
mod state;
pub mod telemetry;
mod tls;
mod trace_ids;
mod trace_parent;
pub mod tracing_export;
mod ws_conn;

pub use server::{RunningNode, start, start_with_store};
