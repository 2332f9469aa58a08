//! `GET /display/{tenant}/{office}`: the wall display page, plain HTML/CSS/JS compiled into the
//! binary (no build step, nothing loaded from elsewhere: nodes often have no internet).
//! `GET /display/{tenant}` is the same page showing every office of the tenant (a tile per office
//! with its total and capacity).
//!
//! The page is static and needs no auth: it reads the tenant and office from its own path, the
//! viewer token from the URL fragment (never sent to the server), and the data over the display
//! WebSocket with that token. The route validates the ids like every other route but answers the
//! same page whether or not they exist, so it reveals nothing.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tally_protocol::{OfficeId, TenantId};

use crate::error::ApiPath;
use crate::state::AppState;

/// The page.
const INDEX_HTML: &str = include_str!("../../assets/display/index.html");
/// Its style sheet.
const DISPLAY_CSS: &str = include_str!("../../assets/display/display.css");
/// Its script.
const DISPLAY_JS: &str = include_str!("../../assets/display/display.js");

/// Where the page loads its style sheet and script from (as referenced in `index.html`).
pub(crate) const ASSETS_PATH: &str = "/static/display";

/// Only this origin's scripts, styles and WebSockets; no framing, no plugins.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; connect-src 'self' ws: wss:; \
     img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// The page and its assets.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/display/{tenant}", get(tenant_page))
        .route("/display/{tenant}/{office}", get(page))
        .route(&format!("{ASSETS_PATH}/display.css"), get(css))
        .route(&format!("{ASSETS_PATH}/display.js"), get(js))
}

/// The page of one office; the same for every valid pair of ids.
async fn page(ApiPath((_tenant, _office)): ApiPath<(TenantId, OfficeId)>) -> Response {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

/// The page of a whole tenant; the same for every valid tenant id.
async fn tenant_page(ApiPath(_tenant): ApiPath<TenantId>) -> Response {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

async fn css() -> Response {
    asset("text/css; charset=utf-8", DISPLAY_CSS)
}

async fn js() -> Response {
    asset("text/javascript; charset=utf-8", DISPLAY_JS)
}

/// A static body with the page's security headers. `no-store`: a node upgrade changes the page,
/// and the files are small.
fn asset(content_type: &'static str, body: &'static str) -> Response {
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
    ];
    (headers, body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_references_the_served_assets() {
        for file in ["display.css", "display.js"] {
            let path = format!("{ASSETS_PATH}/{file}");
            assert!(
                INDEX_HTML.contains(&path),
                "index.html does not load {path}"
            );
        }
    }

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        for text in [INDEX_HTML, DISPLAY_CSS, DISPLAY_JS] {
            assert!(!text.contains("http://") && !text.contains("https://"));
            assert!(!text.contains("@import") && !text.contains("url("));
        }
        // No inline script or style: the Content-Security-Policy forbids them.
        assert!(!INDEX_HTML.contains("<style") && !INDEX_HTML.contains("style="));
        assert_eq!(INDEX_HTML.matches("<script").count(), 1);
        assert!(INDEX_HTML.contains("<script src="));
    }
}
