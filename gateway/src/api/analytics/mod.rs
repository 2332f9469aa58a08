//! Utilization analytics of an office and its rooms (tenant viewers and admins), computed with
//! `tally-analytics` from the stored raw readings in the office's local time:
//!
//! - `GET|PUT /v1/tenants/{tenant}/offices/{office}/calendar`: the office's IANA time zone and
//!   working hours (`calendar.rs`; PUT needs the tenant's admin).
//! - `GET …/offices/{office}/utilization` and `…/rooms/{room}/utilization`: the figures per
//!   bucket and over the whole range (`utilization.rs`).
//! - `GET …/offices/{office}/heat-map`: busiest hour × weekday (`heat_map.rs`).
//! - `GET …/offices/{office}/under-used`: rooms ranked by utilization (`under_used.rs`).
//! - `GET …/offices/{office}/data-status`: coverage per local day (`data_status.rs`).
//!
//! Every query names `from` and `to` (RFC 3339) within [`window::MAX_RANGE_DAYS`] days and at
//! most [`window::MAX_BUCKETS`] buckets; another tenant's office answers `not_found` exactly like
//! a missing one.

mod calendar;
mod data_status;
mod heat_map;
mod series;
mod under_used;
mod utilization;
mod window;

use axum::Router;
use axum::routing::get;

use crate::state::AppState;

/// Analytics routes.
pub(crate) fn routes() -> Router<AppState> {
    let office = "/v1/tenants/{tenant}/offices/{office}";
    Router::new()
        .route(
            &format!("{office}/calendar"),
            get(calendar::get_calendar).put(calendar::put_calendar),
        )
        .route(
            &format!("{office}/utilization"),
            get(utilization::office_utilization),
        )
        .route(
            &format!("{office}/rooms/{{room}}/utilization"),
            get(utilization::room_utilization),
        )
        .route(&format!("{office}/heat-map"), get(heat_map::heat_map))
        .route(&format!("{office}/under-used"), get(under_used::under_used))
        .route(
            &format!("{office}/data-status"),
            get(data_status::data_status),
        )
}
