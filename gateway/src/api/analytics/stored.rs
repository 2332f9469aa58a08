//! A room's, an office's or a tenant's buckets from stored rollups: the rooms roll up every
//! resolution (1 min, 15 min, 1 h, 1 d in the office's local time), and so does the office's
//! owner for the office's summed count once late readings can no longer change it, and the
//! owner of the tenant's anchor office for the tenant's (every room of every office, in UTC);
//! an answer reads the stored buckets of the resolution asked for, and computes from raw
//! readings only the buckets not rolled up (still open or not yet final, from before the first
//! rollup, past the frontier of a tenant whose anchor office is not active, or cut by another
//! calendar than the area's current one).

use std::collections::{BTreeMap, HashMap};

use tally_protocol::analytics::{BucketStats, Resolution, Tile, coarsen, roll_up};
use tally_protocol::{OfficeId, TenantId};
use tally_storage::{RollupArea, Room, TimeRange};

use super::calendar::OfficeClock;
use super::series::{failed, room_series, rooms_series};
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

/// The buckets of `resolution` of a room, an office or a tenant over the window (with working
/// hours, only the working part of each), from stored rollups. With working hours the answer
/// reads the working part's [`Tile`]s (whole working hours as hours, the quarter hours at
/// their edges) and merges them into buckets of `resolution`.
pub(super) async fn scope_stats(
    state: &AppState,
    tenant: &TenantId,
    scope: Scope<'_>,
    clock: &OfficeClock,
    window: &Window,
    resolution: Resolution,
) -> Result<Vec<BucketStats>, ApiError> {
    let calendar = &clock.calendar;
    let tiles = if window.working_hours {
        (clock.working_hours)
            .tiles(calendar, window.from, window.to, resolution)
            .map_err(failed)?
    } else {
        (calendar.buckets(resolution, window.from, window.to))
            .map_err(failed)?
            .into_iter()
            .map(|bucket| Tile { resolution, bucket })
            .collect()
    };
    let stats = tile_stats(state, tenant, scope, clock, window, &tiles).await?;
    if tiles.iter().all(|t| t.resolution == resolution) {
        Ok(stats)
    } else {
        coarsen(&stats, calendar, resolution).map_err(failed)
    }
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

/// The statistics of each tile of a room, an office or a tenant, each equal to the one computed
/// from raw readings (the rollups are computed with the same math).
async fn tile_stats(
    state: &AppState,
    tenant: &TenantId,
    scope: Scope<'_>,
    clock: &OfficeClock,
    window: &Window,
    tiles: &[Tile],
) -> Result<Vec<BucketStats>, ApiError> {
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
            stored_rollups(state, tenant, scope, tiles).await?
        }
        _ => HashMap::new(),
    };
    // Per tile: the stored answer, or `None` where raw readings must answer.
    let answers: Vec<Option<BucketStats>> = tiles
        .iter()
        .map(|tile| {
            let bucket = tile.bucket;
            let held = frontier.is_some_and(|f| f.holds(bucket.start, bucket.end));
            match stored.remove(&(tile.resolution, bucket.start)) {
                Some(stats) if held && stats.end == bucket.end => Some(stats),
                Some(_) => None,
                None => held.then(|| BucketStats::empty(bucket.start, bucket.end)),
            }
        })
        .collect();
    let mut out = Vec::with_capacity(tiles.len());
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
        out.extend(raw_stats(state, tenant, scope, clock, window, &tiles[at..run_end]).await?);
        at = run_end;
    }
    Ok(out)
}

/// The statistics of consecutive tiles from raw readings: one series over their span, rolled
/// up at each tile's resolution.
async fn raw_stats(
    state: &AppState,
    tenant: &TenantId,
    scope: Scope<'_>,
    clock: &OfficeClock,
    window: &Window,
    tiles: &[Tile],
) -> Result<Vec<BucketStats>, ApiError> {
    let part = Window {
        from: tiles[0].bucket.start,
        to: tiles[tiles.len() - 1].bucket.end,
        ..*window
    };
    let series = match scope {
        Scope::Room(room) => room_series(state, tenant, room, &part).await?,
        Scope::Office { rooms, .. } | Scope::Tenant { rooms } => {
            rooms_series(state, tenant, rooms, &part).await?
        }
    };
    let mut out = Vec::with_capacity(tiles.len());
    for same in tiles.chunk_by(|a, b| a.resolution == b.resolution) {
        let (from, to) = (same[0].bucket.start, same[same.len() - 1].bucket.end);
        let rolled = roll_up(&series, &clock.calendar, same[0].resolution, from, to);
        let mut rolled = rolled.map_err(failed)?.into_iter();
        // The span's buckets include those between tiles (outside working hours): skip them.
        for tile in same {
            out.extend(rolled.by_ref().find(|b| b.start == tile.bucket.start));
        }
    }
    Ok(out)
}

/// Stored rows a read passes over between two wanted buckets rather than start another range.
const GAP_ROWS: i64 = 16;

/// The stored rollups of a room, an office or a tenant for the tiles, by resolution and start
/// (only those that keep their statistics): per resolution one read of the tiles' ranges,
/// a range ending where the tiles leave a gap of more than [`GAP_ROWS`] buckets (a year of
/// working days reads a year of hours as one range, the quarter hours at the edges of
/// working hours as two short ranges a day).
async fn stored_rollups(
    state: &AppState,
    tenant: &TenantId,
    scope: Scope<'_>,
    tiles: &[Tile],
) -> Result<HashMap<(Resolution, i64), BucketStats>, ApiError> {
    let mut reads: BTreeMap<Resolution, Vec<TimeRange>> = BTreeMap::new();
    for tile in tiles {
        let (start, end) = (tile.bucket.start, tile.bucket.end);
        let ranges = reads.entry(tile.resolution).or_default();
        match ranges.last_mut() {
            Some(range) if start - range.to <= GAP_ROWS * (end - start) => range.to = end,
            _ => ranges.push(TimeRange {
                from: start,
                to: end,
            }),
        }
    }
    let mut stored = HashMap::new();
    let rollups = scope.rollups();
    for (resolution, ranges) in reads {
        let width = stored_resolution(resolution);
        let read = match &rollups {
            Rollups::Room(room) => {
                (state.store)
                    .rollups_in_ranges(tenant, &room.id, width, &ranges)
                    .await?
            }
            Rollups::Area(area) => {
                (state.store)
                    .area_rollups_in_ranges(tenant, area, width, &ranges)
                    .await?
            }
        };
        for rollup in read {
            if let Some(stats) = rollup.stats {
                stored.insert((resolution, stats.start), stats);
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
