//! Utilization math for tally, pure (no I/O, no actors): a room's count as a step function of
//! sensor time ([`Series`]), its buckets in an office's local time ([`Calendar`],
//! [`Resolution`]), each bucket's statistics ([`BucketStats`]: how long each count was held,
//! from which the mean, median, peak, minimum, occupied time, time above a target and coverage
//! follow), the cascade 1 min → 15 min → 1 h → 1 d ([`roll_up`], [`coarsen`], [`cascade`]) and the
//! aggregation of rooms to an office or tenant ([`Series::sum`]), the figures a facility team reads
//! ([`Utilization`]), working hours ([`WorkingHours`]) and the busiest-hours [`heat_map`].
//!
//! It lives in `tally-protocol` because it is the one definition of the figures tally answers,
//! shared by the gateway (answering analytics queries, which never sees an actor) and the rooms
//! (rolling up what they count), and because, like the rest of this crate, it is pure and does
//! no I/O.

mod calendar;
mod error;
mod heat_map;
mod rollup;
mod series;
mod stats;
mod utilization;
mod working_hours;
mod working_tiles;

pub use calendar::{Bucket, Calendar, Resolution};
pub use error::AnalyticsError;
pub use heat_map::heat_map;
pub use rollup::{cascade, coarsen, roll_up};
pub use series::{Combine, Series, Step};
pub use stats::BucketStats;
pub use utilization::{Capacity, Utilization};
pub use working_hours::WorkingHours;
pub use working_tiles::Tile;
