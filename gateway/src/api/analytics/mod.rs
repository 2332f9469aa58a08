//! Utilization analytics of a tenant, its offices and rooms (tenant viewers and admins),
//! computed with `tally_protocol::analytics` in the office's local time:
//!
//! - `GET|PUT /v1/tenants/{tenant}/offices/{office}/calendar`: the office's IANA time zone and
//!   working hours (`calendar.rs`; PUT needs the tenant's admin).
//! - `GET …/offices/{office}/utilization` and `…/rooms/{room}/utilization`: the figures per
//!   bucket and over the whole range (`utilization.rs`).
//! - `GET …/offices/{office}/heat-map`: busiest hour × weekday (`heat_map.rs`).
//! - `GET …/offices/{office}/under-used`: rooms ranked by utilization (`under_used.rs`).
//! - `GET …/offices/{office}/data-status`: coverage per local day (`data_status.rs`).
//! - `GET /v1/tenants/{tenant}/utilization`: every room of every office summed at the same
//!   instants, in UTC (`tenant.rs`).
//!
//! A room's answers, the under-used ranking and the data status come from the rooms' stored
//! rollups, an office's utilization and heat map from the office's stored rollups (its rooms'
//! counts summed at the same instants, finalised by its owner; `stored.rs`), raw readings only
//! for what is not rolled up yet; a tenant's utilization from the tenant's stored rollups (every
//! room's count summed at the same instants in UTC, finalised by the owner of the tenant's
//! anchor office), raw readings past their frontier.
//!
//! Every query names `from` and `to` (RFC 3339) within
//! [`tally_protocol::api::MAX_RANGE_DAYS`] days and at most
//! [`tally_protocol::api::MAX_BUCKETS`] buckets; another tenant's office answers `not_found`
//! exactly like a missing one.

mod calendar;
mod data_status;
mod heat_map;
mod series;
mod stored;
mod tenant;
mod under_used;
mod utilization;
mod window;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// Analytics routes, each with its description.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(calendar::get_calendar, calendar::put_calendar))
        .routes(routes!(utilization::office_utilization))
        .routes(routes!(utilization::room_utilization))
        .routes(routes!(heat_map::heat_map))
        .routes(routes!(under_used::under_used))
        .routes(routes!(data_status::data_status))
        .routes(routes!(tenant::tenant_utilization))
}
