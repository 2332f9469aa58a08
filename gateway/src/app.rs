//! Shared state of the handlers and the HTTP routes.

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use tally_cluster::SharedRouter;
use tally_config::Settings;
use tally_protocol::Limits;
use tally_storage::SharedStore;

use crate::auth::Authenticator;
use crate::{display_ws, error, health, ingest_http, live_api, registry_api, sensor_ws, telemetry};

/// Everything a handler needs; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState(Arc<AppInner>);

/// The inside of [`AppState`].
#[derive(Debug)]
pub struct AppInner {
    /// The node's configuration.
    pub settings: Settings,
    /// Durable storage.
    pub store: SharedStore,
    /// Offices and rooms to actors.
    pub router: SharedRouter,
    /// Token verification and minting.
    pub auth: Authenticator,
    /// Decoding limits from the configuration.
    pub limits: Limits,
    /// How long handlers wait for an actor.
    pub call_timeout: std::time::Duration,
    /// Readings admitted into the actors and not yet acknowledged, node-wide
    /// (`ingest.node_inflight` permits): overload waits at the socket instead of queueing.
    pub ingest_permits: Arc<tokio::sync::Semaphore>,
}

impl std::ops::Deref for AppState {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl AppState {
    /// Shared state over its parts.
    pub fn new(
        settings: Settings,
        store: SharedStore,
        router: SharedRouter,
        auth: Authenticator,
        call_timeout: std::time::Duration,
    ) -> Self {
        let ingest = &settings.ingest;
        let limits = Limits {
            max_frame_bytes: ingest.max_frame_bytes as usize,
            max_batch_items: ingest.max_batch_items as usize,
            max_count: ingest.max_count,
            max_future_skew_ms: i64::try_from(ingest.max_future_skew.as_millis())
                .unwrap_or(i64::MAX),
        };
        let ingest_permits = Arc::new(tokio::sync::Semaphore::new(
            settings.ingest.node_inflight as usize,
        ));
        Self(Arc::new(AppInner {
            settings,
            store,
            router,
            auth,
            limits,
            call_timeout,
            ingest_permits,
        }))
    }
}

pub use tally_protocol::now_ms;

/// Every route of the gateway.
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(telemetry::render))
        .route("/v1/sensors/connect", get(sensor_ws::connect))
        .route("/v1/readings", post(ingest_http::post_readings))
        .route("/v1/live", get(display_ws::connect))
        .merge(registry_api::routes())
        .merge(live_api::routes())
        .fallback(error::route_not_found)
        .layer(axum::middleware::from_fn(telemetry::track_http))
        .with_state(state)
}
