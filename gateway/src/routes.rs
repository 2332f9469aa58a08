//! Every HTTP route of the gateway.

use axum::Router;
use axum::http::StatusCode;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;
use crate::{api, audit, display, error, ingest, openapi, telemetry};

/// Every route of the gateway, over its shared state.
pub(crate) fn routes(state: AppState) -> Router {
    // A declared body over the frame limit is refused before a byte of it is read.
    let body_limit = state.settings.ingest.max_frame_bytes as usize;
    let request_timeout = state.settings.http.request_timeout;
    all_routes()
        .route_layer(axum::middleware::from_fn(audit::note_route))
        .fallback(error::route_not_found)
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(axum::middleware::from_fn(error::json_errors))
        .layer(axum::middleware::from_fn(telemetry::track_http))
        // Every request gets an `x-request-id` (the client's, or a new UUID), answered back and
        // recorded with its audit entries.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            audit::track,
        ))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// The routes without their layers: the documented ones and the display pages.
fn all_routes() -> Router<AppState> {
    let (documented, _) = documented().split_for_parts();
    // HTML for browsers (the wall display and its assets), deliberately not in the API
    // document: they take no credentials and answer the same page for every valid id.
    documented.merge(display::page::routes())
}

/// Every route of the API (REST and WebSockets), each registered with `routes!` from its
/// handler's `#[utoipa::path]`: the router and `/openapi.json` are built from this one list, so
/// a route cannot exist undescribed. Add a route here (or in its module's list), never with a
/// bare `.route(…)`.
pub(crate) fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(telemetry::render))
        .routes(routes!(openapi::serve))
        .routes(routes!(ingest::sensor_ws::connect))
        .routes(routes!(ingest::http::post_readings))
        .routes(routes!(display::ws::connect))
        .merge(api::routes())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The path templates the router serves, read from its `Debug` output (axum has no other way
    /// to list them): the quoted strings of its path router, before its fallback router (whose
    /// catch-all paths serve the 404).
    fn router_paths() -> BTreeSet<String> {
        let debug = format!("{:?}", all_routes());
        let (path_router, _fallback) = debug
            .split_once("fallback_router")
            .expect("a Router's Debug names its fallback router");
        path_router
            .split('"')
            .skip(1)
            .step_by(2)
            .filter(|text| text.starts_with('/'))
            .map(str::to_owned)
            .collect()
    }

    /// Every path the router serves is in `/openapi.json`, except the display pages, which are
    /// HTML for browsers (stated in the document's description).
    #[test]
    fn every_route_is_in_the_document() {
        let document: serde_json::Value = serde_json::from_str(openapi::document()).unwrap();
        let described: BTreeSet<String> = document["paths"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let served = router_paths();
        assert!(
            served.contains("/v1/readings") && served.contains("/display/{tenant}"),
            "the router's paths could not be read from its Debug output: {served:?}"
        );
        // Deliberately absent: HTML and its assets for browsers, not an API.
        let assets = display::page::ASSETS_PATH;
        let html = [
            "/display/{tenant}".to_owned(),
            "/display/{tenant}/{office}".to_owned(),
            format!("{assets}/display.css"),
            format!("{assets}/display.js"),
        ];
        let undescribed: Vec<_> = served
            .iter()
            .filter(|path| !described.contains(*path) && !html.contains(path))
            .collect();
        assert!(
            undescribed.is_empty(),
            "routes missing from /openapi.json: {undescribed:?}"
        );
        let unserved: Vec<_> = described.difference(&served).collect();
        assert!(
            unserved.is_empty(),
            "documented paths the router does not serve: {unserved:?}"
        );
    }
}
