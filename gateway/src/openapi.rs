//! The OpenAPI 3.1 document of the HTTP API, served at `GET /openapi.json`.
//!
//! Nothing here lists routes: each handler describes itself with `#[utoipa::path]` (path,
//! parameters, bodies, responses, auth), and `routes::documented` registers it with
//! `utoipa_axum::routes!`, which adds the route to the router and its description to the
//! document at once. This file adds what is shared: the auth schemes, one reusable response per
//! error status (all answering [`ErrorBody`]), the path parameters, the WebSocket frame schemas,
//! and the two errors every route can answer (`request_timeout`, `internal`).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde::Deserialize;
use tally_protocol::{
    DisplayFrame, DisplayRequest, ErrorBody, OfficeId, RoomId, SensorFrame, ServerFrame,
    TenantFrame, TenantId,
};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};

/// The document's fixed parts; the paths come from the handlers (`routes::documented`).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "tally",
        description = "Live workplace occupancy: sensors send people counts, wall displays and \
            REST clients read rooms, offices and tenants live.\n\n\
            Every error answers `{\"error\":{\"code\",\"message\"}}` (`ErrorBody`); the code \
            decides the status. A route called with a method it does not have answers 405 \
            `method_not_allowed`, an unknown path 404 `not_found`. Another tenant's resources \
            answer exactly like missing ones.\n\n\
            The wall display pages (`GET /display/{tenant}`, `GET /display/{tenant}/{office}` \
            and their assets under `/static/display/`) are HTML for browsers and not part of \
            this API."
    ),
    modifiers(&AuthSchemes),
    components(
        schemas(ErrorBody, SensorFrame, ServerFrame, DisplayRequest, DisplayFrame, TenantFrame),
        responses(
            BadRequest,
            Unauthenticated,
            Forbidden,
            NotFound,
            Conflict,
            RequestTimeout,
            PayloadTooLarge,
            UpgradeRequired,
            RateLimited,
            Internal,
            Unavailable
        )
    ),
    tags(
        (name = "sensors", description = "Readings from people-counting sensors"),
        (name = "displays", description = "Live occupancy pushed to wall displays"),
        (name = "registry", description = "Tenants, offices, rooms, sensors and tokens"),
        (name = "live", description = "Live occupancy read over REST"),
        (name = "retention", description = "How long readings and rollups are kept"),
        (name = "erasure", description = "Erasure of a tenant and its audit record"),
        (name = "operations", description = "Health, metrics and this document"),
        (name = "analytics", description = "Utilization of offices and rooms in their local time"),
        (name = "cluster", description = "Membership and draining of the cluster's nodes"),
        (name = "audit", description = "The audit log of tenants and of the platform")
    )
)]
pub(crate) struct ApiDoc;

/// Name of the scheme of the node's admin token (`auth.admin_token`).
pub(crate) const ADMIN_TOKEN: &str = "admin_token";
/// Name of the scheme of a tenant JWT in the `Authorization` header.
pub(crate) const TENANT_JWT: &str = "tenant_jwt";
/// Name of the scheme of a tenant JWT in the `access_token` query parameter (displays only).
pub(crate) const VIEWER_TOKEN: &str = "viewer_token";
/// Name of the scheme of a sensor key in the `Authorization` header.
pub(crate) const SENSOR_KEY: &str = "sensor_key";
/// Name of the scheme of the Prometheus scrape token (`auth.metrics_token`).
pub(crate) const METRICS_TOKEN: &str = "metrics_token";

/// Adds the auth schemes the handlers name in their `security(...)`.
#[derive(Debug)]
struct AuthSchemes;

impl Modify for AuthSchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let bearer = |description: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(description))
                    .build(),
            )
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            ADMIN_TOKEN,
            bearer(
                "The node's admin token (`auth.admin_token`): every tenant and the node-wide \
                 operations. Never accepted in a query string.",
            ),
        );
        components.add_security_scheme(
            TENANT_JWT,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A tenant's JWT (HS256, minted by `POST /v1/tenants/{tenant}/tokens`): \
                         role `admin` manages the tenant's registry and retention, role \
                         `viewer` reads live occupancy and connects displays. Expired: 401 \
                         `token_expired`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            VIEWER_TOKEN,
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "access_token",
                "A tenant JWT (usually a viewer's) in the `access_token` query parameter, for \
                 browsers, which cannot set headers on a WebSocket: accepted on `GET /v1/live` \
                 only, and never the admin token.",
            ))),
        );
        components.add_security_scheme(
            SENSOR_KEY,
            bearer(
                "A sensor key (`tsk_…`), returned once when the sensor is created and stored \
                 only as a hash. On the sensor WebSocket it goes in the `hello` frame instead.",
            ),
        );
        components.add_security_scheme(
            METRICS_TOKEN,
            bearer(
                "The Prometheus scrape token (`auth.metrics_token`); the admin token also works.",
            ),
        );
    }
}

/// Declares reusable error responses: each a unit type naming a response component for one
/// status, whose body is [`ErrorBody`].
macro_rules! error_responses {
    ($($(#[$doc:meta])* $name:ident = $status:literal => $description:literal;)*) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub(crate) struct $name;

        impl $name {
            /// The HTTP status of this response.
            const STATUS: &'static str = $status;
        }

        impl<'r> utoipa::ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                (stringify!($name), error_response($description))
            }
        }
    )*};
}

error_responses! {
    /// 400.
    BadRequest = "400" => "The request is invalid: `invalid_id` (an id breaks the slug rules), \
        `invalid_request`, `malformed_frame`, a reading's `too_many_items`, `empty_batch`, \
        `invalid_seq`, `count_out_of_range`, `timestamp_in_future`, `timestamp_too_old`, or \
        `unsupported_subprotocol` on a WebSocket.";
    /// 401.
    Unauthenticated = "401" => "`unauthenticated` (credentials missing or invalid), \
        `token_expired` or `unknown_sensor_key`.";
    /// 403.
    Forbidden = "403" => "`forbidden`: the credentials do not allow this operation (a viewer \
        changing the registry, a tenant token on a node-wide operation, the admin token on a \
        display).";
    /// 404.
    NotFound = "404" => "`not_found`: the resource does not exist, or belongs to another tenant \
        (the same answer).";
    /// 409.
    Conflict = "409" => "`already_exists`: a resource with this id exists already.";
    /// 408.
    RequestTimeout = "408" => "`request_timeout`: the request was not received within \
        `http.request_timeout`.";
    /// 413.
    PayloadTooLarge = "413" => "`frame_too_large`: the body is larger than \
        `ingest.max_frame_bytes`.";
    /// 426.
    UpgradeRequired = "426" => "`upgrade_required`: this route is a WebSocket; the request must \
        ask to upgrade.";
    /// 429.
    RateLimited = "429" => "`rate_limited`: the tenant is over its quota (readings/s, API \
        requests/s or open WebSockets); `Retry-After` says how many seconds to wait.";
    /// 500.
    Internal = "500" => "`internal`: an unexpected server error.";
    /// 503.
    Unavailable = "503" => "`unavailable` (the node cannot take the request now, e.g. its store \
        is degraded; retry later), `storage_failure` (nothing was acknowledged), or \
        `tenant_quarantined`.";
}

/// Declares sets of error responses that routes of one kind share, for a handler's
/// `responses(...)`.
macro_rules! error_sets {
    ($($(#[$doc:meta])* $set:ident = [$($response:ident),*];)*) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub(crate) struct $set;

        impl utoipa::IntoResponses for $set {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                [$(($response::STATUS.to_owned(), response_ref(stringify!($response)))),*]
                    .into_iter()
                    .collect()
            }
        }
    )*};
}

error_sets! {
    /// A read of a tenant's data with a tenant JWT or the admin token.
    ReadErrors = [BadRequest, Unauthenticated, NotFound, RateLimited, Unavailable];
    /// An operation without a body that needs the tenant's admin role or the admin token.
    AdminErrors = [BadRequest, Unauthenticated, Forbidden, NotFound, RateLimited, Unavailable];
    /// An operation with a JSON body that needs the tenant's admin role or the admin token.
    AdminBodyErrors = [
        BadRequest, Unauthenticated, Forbidden, NotFound, PayloadTooLarge, RateLimited,
        Unavailable
    ];
    /// The creation of a registry entry.
    CreateErrors = [
        BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, PayloadTooLarge,
        RateLimited, Unavailable
    ];
    /// A node-wide operation without a path parameter (the admin token only).
    NodeErrors = [Unauthenticated, Forbidden, RateLimited, Unavailable];
    /// A node-wide operation whose input can be refused (the admin token only).
    NodeActionErrors = [BadRequest, Unauthenticated, Forbidden, RateLimited, Unavailable];
    /// A node-wide read of something this node may not have (the admin token only).
    NodeLookupErrors = [Unauthenticated, Forbidden, NotFound, RateLimited, Unavailable];
    /// The opening of the sensor WebSocket (the key comes in its first frame).
    SensorSocketErrors = [BadRequest, UpgradeRequired];
    /// The opening of the display WebSocket.
    DisplaySocketErrors = [BadRequest, Unauthenticated, Forbidden, UpgradeRequired, RateLimited];
}

/// An error response with `description` and the [`ErrorBody`] JSON.
fn error_response(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(ErrorBody::name())))
                .build(),
        )
        .build()
        .into()
}

/// Path parameter of routes under a tenant (describes the path only; handlers parse it with
/// `ApiPath`).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
#[expect(
    dead_code,
    reason = "describes the path; handlers parse it with `ApiPath`"
)]
pub(crate) struct TenantPath {
    /// The tenant.
    tenant: TenantId,
}

/// Path parameters of routes under an office.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
#[expect(
    dead_code,
    reason = "describes the path; handlers parse it with `ApiPath`"
)]
pub(crate) struct OfficePath {
    /// The tenant.
    tenant: TenantId,
    /// The office.
    office: OfficeId,
}

/// Path parameters of routes under a room.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
#[expect(
    dead_code,
    reason = "describes the path; handlers parse it with `ApiPath`"
)]
pub(crate) struct RoomPath {
    /// The tenant.
    tenant: TenantId,
    /// The office.
    office: OfficeId,
    /// The room.
    room: RoomId,
}

/// The document: the fixed parts, every documented route's description, and the errors every
/// route can answer. Built once.
pub(crate) fn document() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut openapi = crate::routes::documented().into_openapi();
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                let responses = &mut operation.responses.responses;
                let everywhere = [
                    (RequestTimeout::STATUS, "RequestTimeout"),
                    (Internal::STATUS, "Internal"),
                ];
                for (status, name) in everywhere {
                    responses
                        .entry(status.to_owned())
                        .or_insert_with(|| response_ref(name));
                }
            }
        }
        openapi
            .to_pretty_json()
            .unwrap_or_else(|err| format!("{{\"error\":\"{err}\"}}"))
    })
}

/// A reference to the response component `name`.
fn response_ref(name: &str) -> RefOr<Response> {
    RefOr::Ref(Ref::from_response_name(name))
}

/// `GET /openapi.json`.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    responses(
        (status = 200, description = "This document (OpenAPI 3.1)", content_type = "application/json", body = Object),
    )
)]
pub(crate) async fn serve() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], document())
}
