//! A room's, an office's or a tenant's buckets from stored rollups: the rooms roll up every
//! resolution (1 min, 15 min, 1 h, 1 d in the office's local time), and so does the office's
//! owner for the office's summed count once late readings can no longer change it, and the
//! owner of the tenant's anchor office for the tenant's (every room of every office, in UTC);
//! an answer reads the stored buckets of the resolution asked for, and computes from raw
//! readings only the buckets not rolled up (still open or not yet final, from before the first
//! rollup, past the frontier of a tenant whose anchor office is not active, or cut by another
//! calendar than the area's current one).

use std::collections::BTreeMap;

use tally_protocol::analytics::{Bucket, BucketStats, Resolution, roll_up};
use tally_protocol::{OfficeId, TenantId};
use tally_storage::{MAX_PAGE_LIMIT, PageRequest, RollupArea, Room, TimeRange};

use super::calendar::OfficeClock;
use super::series::{failed, finest, room_series, rooms_series, working_part};
use super::window::Window;
use crate::error::ApiError;
use crate::state::AppState;

/// Whose stored rollups answer.
#[derive(Debug, Clone, Copy)]
pub(super) enum Scope<'a> {
    /// One room.
    Room(&'a Room),
    /// An office: its rooms' counts summed at the same instants.
    Office {
        /// The office.
        office: &'a OfficeId,
        /// Its rooms (for the raw readings of what it has not rolled up).
        rooms: &'a [Room],
    },
    /// A tenant: every room of every office summed at the same instants, in UTC.
    Tenant {
        /// Every room of the tenant (for the raw readings of what it has not rolled up).
        rooms: &'a [Room],
    },
}

/// Where a scope's rollups are stored: a room's own, or an area's.
enum Rollups<'a> {
    /// A room's.
    Room(&'a Room),
    /// An office's or the tenant's.
    Area(RollupArea),
}

impl<'a> Scope<'a> {
    /// Where the scope's rollups are stored.
    fn rollups(&self) -> Rollups<'a> {
        match *self {
            Scope::Room(room) => Rollups::Room(room),
            Scope::Office { office, .. } => Rollups::Area(RollupArea::Office(office.clone())),
            Scope::Tenant { .. } => Rollups::Area(RollupArea::Tenant),
        }
    }
}

/// The buckets of `resolution` of a room, an office or a tenant over the window (with working hours,
/// only the working part of each), from stored rollups: quarter hours (or minutes) kept or not
/// as a whole with working hours, the resolution itself without.
pub(super) async fn scope_stats(
    state: &AppState,
    tenant: &TenantId,
    scope: Scope<'_>,
    clock: &OfficeClock,
    window: &Window,
    resolution: Resolution,
) -> Result<Vec<BucketStats>, ApiError> {
    let fine = finest(window, resolution);
    let all = scope_buckets(state, tenant, scope, clock, window, fine).await?;
    working_part(clock, window, resolution, all)
}

/// The coarsest resolution whose buckets tile the window exactly (its ends are bucket edges):
/// what an answer over the whole window reads least of. Merging buckets adds the time each
/// count was held, so the whole-window figures are the same at every resolution that tiles it.
pub(super) fn coarsest_fitting(clock: &OfficeClock, window: &Window) -> Resolution {
    let fits = |resolution: Resolution| {
        let edge = |ts| {
            clock
                .calendar
                .bucket(resolution, ts)
                .is_ok_and(|b| b.start == ts)
        };
        edge(window.from) && edge(window.to)
    };
    [
        Resolution::Day,
        Resolution::Hour,
        Resolution::FifteenMinutes,
    ]
    .into_iter()
    .find(|r| fits(*r))
    .unwrap_or(Resolution::Minute)
}

/// The buckets of `resolution` over the window of a room, an office or a tenant, each equal to the one
/// computed from raw readings (the rollups are computed with the same math).
async fn scope_buckets(
    state: &AppState,
    tenant: &TenantId,
    scope: Scope<'_>,
    clock: &OfficeClock,
    window: &Window,
    resolution: Resolution,
) -> Result<Vec<BucketStats>, ApiError> {
    let buckets = clock
        .calendar
        .buckets(resolution, window.from, window.to)
        .map_err(failed)?;
    let frontier = match scope.rollups() {
        Rollups::Room(room) => state
            .store
            .room_state(tenant, &room.id)
            .await?
            .and_then(|s| s.rollups),
        Rollups::Area(area) => state.store.area_rollup_frontier(tenant, &area).await?,
    };
    let mut stored = match frontier {
        Some(frontier) if frontier.from < frontier.to => {
            stored_rollups(state, tenant, scope, resolution, &buckets).await?
        }
        _ => BTreeMap::new(),
    };
    // Per bucket: the stored answer, or `None` where raw readings must answer.
    let answers: Vec<Option<BucketStats>> = buckets
        .iter()
        .map(|bucket| {
            let held = frontier.is_some_and(|f| f.holds(bucket.start, bucket.end));
            match stored.remove(&bucket.start) {
                Some(stats) if held && stats.end == bucket.end => Some(stats),
                Some(_) => None,
                None => held.then(|| BucketStats::empty(bucket.start, bucket.end)),
            }
        })
        .collect();
    let mut out = Vec::with_capacity(buckets.len());
    let mut at = 0;
    while at < answers.len() {
        if let Some(stats) = &answers[at] {
            out.push(stats.clone());
            at += 1;
            continue;
        }
        let run_end = answers[at..]
            .iter()
            .position(Option::is_some)
            .map_or(answers.len(), |n| at + n);
        let part = Window {
            from: buckets[at].start,
            to: buckets[run_end - 1].end,
            ..*window
        };
        let series = match scope {
            Scope::Room(room) => room_series(state, tenant, room, &part).await?,
            Scope::Office { rooms, .. } | Scope::Tenant { rooms } => {
                rooms_series(state, tenant, rooms, &part).await?
            }
        };
        out.extend(
            roll_up(&series, &clock.calendar, resolution, part.from, part.to).map_err(failed)?,
        );
        at = run_end;
    }
    Ok(out)
}

/// The stored rollups of `resolution` of a room, an office or a tenant over the buckets, by start (only
/// those that keep their statistics).
async fn stored_rollups(
    state: &AppState,
    tenant: &TenantId,
    scope: Scope<'_>,
    resolution: Resolution,
    buckets: &[Bucket],
) -> Result<BTreeMap<i64, BucketStats>, ApiError> {
    let range = TimeRange {
        from: buckets[0].start,
        to: buckets[buckets.len() - 1].end,
    };
    let mut stored = BTreeMap::new();
    let rollups = scope.rollups();
    let mut request = Some(PageRequest::first(MAX_PAGE_LIMIT));
    while let Some(page_request) = request {
        let width = stored_resolution(resolution);
        let page = match &rollups {
            Rollups::Room(room) => {
                (state.store)
                    .rollups(tenant, &room.id, width, range, page_request)
                    .await?
            }
            Rollups::Area(area) => {
                (state.store)
                    .area_rollups(tenant, area, width, range, page_request)
                    .await?
            }
        };
        request = page.next_request(MAX_PAGE_LIMIT);
        for rollup in page.items {
            if let Some(stats) = rollup.stats {
                stored.insert(stats.start, stats);
            }
        }
    }
    Ok(stored)
}

/// The stored resolution of an analytics resolution.
fn stored_resolution(resolution: Resolution) -> tally_storage::Resolution {
    use tally_storage::Resolution as Stored;
    Stored::ALL
        .into_iter()
        .find(|r| r.analytics() == resolution)
        .unwrap_or(Stored::Minute)
}
