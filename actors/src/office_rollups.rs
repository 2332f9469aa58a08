//! An office's stored rollups: its rooms' counts summed at the same instants (peak of the sum,
//! not sum of the peaks), at every resolution in the office's local time, finalised by the
//! office's owner once late readings can no longer change them.
//!
//! A step finalises the minutes from the office's frontier up to the lateness before node time
//! and before the least rolled-up room's frontier (sensor time), at most [`MAX_STEP`] at a time
//! (a room whose sensors went quiet does not hold it back for long: it seals its own frontier
//! at node time − lateness once it has heard nothing for the lateness, see `rollup/sealing.rs`;
//! answers past the office's frontier come from raw readings). It reads the rooms' raw readings, rolls their summed count up into
//! minutes with `tally_protocol::analytics` (the math every answer uses), and every quarter
//! hour, hour and day that ends inside the step from its finer buckets (those of the step and
//! the stored ones before it). Buckets and the new frontier are written in one write under the
//! office's owner token. Only buckets with something observed are stored; inside the frontier
//! an absent bucket had neither a reading nor a live sensor, as for rooms.
//!
//! Idempotent: a step computes from stored raw readings only, so running it again (after a
//! restart, or on the next owner after a handoff) writes the same buckets; the frontier is
//! restored from the store and only moves forward.

use std::collections::BTreeMap;
use std::time::Duration;

use tally_protocol::analytics::{AnalyticsError, BucketStats, Calendar, Resolution as Width};
use tally_protocol::{OfficeId, TenantId, TimestampMs, now_ms};
use tally_storage::{
    MAX_PAGE_LIMIT, OfficeRollupWrite, PageRequest, Resolution, Rollup, RollupFrontier,
    SharedStore, Store, StoreError, TimeRange,
};

/// Most sensor time one step finalises: a backlog (a new office, a node that was down) is
/// caught up a day per step.
pub const MAX_STEP: Duration = Duration::from_secs(86_400);

/// How often an office that is caught up looks for minutes to finalise.
pub const FINALISE_EVERY: Duration = Duration::from_secs(60);

/// One office's finaliser: what it writes and under which token.
#[derive(Debug, Clone)]
pub struct OfficeRollups {
    /// Tenant of the office.
    pub tenant: TenantId,
    /// The office.
    pub office: OfficeId,
    /// The owner token of this activation.
    pub owner_token: u64,
    /// A reading's count holds this long at most (the sensor timeout).
    pub hold_ms: i64,
    /// How far behind a room's rolled-up part a late reading still corrects its rollups: the
    /// office finalises buckets older than this only.
    pub lateness_ms: i64,
}

/// What a step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinaliseStep {
    /// Nothing to finalise yet (no room rolled anything up, or nothing older than the lateness).
    Idle,
    /// Finalised up to the frontier; more is due.
    Behind(RollupFrontier),
    /// Finalised everything due.
    CaughtUp(RollupFrontier),
}

impl OfficeRollups {
    /// Finalises the next part of the office at node time `now` (at most [`MAX_STEP`]).
    ///
    /// # Errors
    /// The store's (a [`StoreError::Fenced`] means a newer owner took over), or an analytics
    /// error of the office's calendar as [`StoreError::Backend`].
    pub async fn step(
        &self,
        store: &dyn Store,
        now: TimestampMs,
    ) -> Result<FinaliseStep, StoreError> {
        let calendar = office_calendar(store, &self.tenant, &self.office).await?;
        let Some(rooms) = self.rooms_rolled(store).await? else {
            return Ok(FinaliseStep::Idle);
        };
        // Final: older than the lateness by node time and by every room's sensor time (a room
        // still corrects its buckets within the lateness of its own rolled-up part).
        let until = minute_start(
            &calendar,
            now.min(rooms.to).saturating_sub(self.lateness_ms),
        )?;
        let frontier = store
            .office_rollup_frontier(&self.tenant, &self.office)
            .await?
            .unwrap_or(RollupFrontier {
                from: rooms.from,
                to: rooms.from,
            });
        if frontier.to >= until {
            return Ok(FinaliseStep::CaughtUp(frontier));
        }
        let step_ms = i64::try_from(MAX_STEP.as_millis()).unwrap_or(i64::MAX);
        let to = until.min(minute_start(
            &calendar,
            frontier.to.saturating_add(step_ms),
        )?);
        let rollups = self.buckets(store, &calendar, frontier, to).await?;
        let next = RollupFrontier { to, ..frontier };
        store
            .write_office_rollups(&OfficeRollupWrite {
                tenant: self.tenant.clone(),
                office: self.office.clone(),
                owner_token: self.owner_token,
                frontier: next,
                rollups,
            })
            .await?;
        Ok(if to < until {
            FinaliseStep::Behind(next)
        } else {
            FinaliseStep::CaughtUp(next)
        })
    }

    /// What the office's rooms rolled up together: from the first start of any room's rollups
    /// (where an office that never finalised anything begins) to the least rolled-up room's
    /// end; `None` before any room rolled up. A room that never rolled up holds nobody back.
    async fn rooms_rolled(&self, store: &dyn Store) -> Result<Option<RollupFrontier>, StoreError> {
        let mut rolled: Option<RollupFrontier> = None;
        for room in store.rooms(&self.tenant, &self.office).await? {
            let state = store.room_state(&self.tenant, &room.id).await?;
            if let Some(room) = state.and_then(|s| s.rollups) {
                rolled = Some(rolled.map_or(room, |all| RollupFrontier {
                    from: all.from.min(room.from),
                    to: all.to.min(room.to),
                }));
            }
        }
        Ok(rolled)
    }

    /// Every bucket of every resolution finalised by moving the frontier to `to`.
    async fn buckets(
        &self,
        store: &dyn Store,
        calendar: &Calendar,
        frontier: RollupFrontier,
        to: TimestampMs,
    ) -> Result<Vec<Rollup>, StoreError> {
        let from = frontier.to;
        let rooms = store.rooms(&self.tenant, &self.office).await?;
        let range = TimeRange { from, to };
        let series =
            tally_storage::rooms_series(store, &self.tenant, &rooms, range, self.hold_ms).await?;
        let minutes =
            tally_protocol::analytics::roll_up(&series, calendar, Width::Minute, from, to)
                .map_err(analytics)?;
        let mut levels = vec![minutes];
        for (finer, resolution) in Resolution::ALL.into_iter().zip(&Resolution::ALL[1..]) {
            let new = levels.last().map(Vec::as_slice).unwrap_or_default();
            let parents = self
                .closed_parents(store, calendar, frontier, to, finer, *resolution, new)
                .await?;
            levels.push(parents);
        }
        Ok(Resolution::ALL
            .into_iter()
            .zip(levels)
            .flat_map(|(resolution, buckets)| {
                buckets
                    .into_iter()
                    .filter(|b| !b.is_empty())
                    .map(move |b| Rollup::of(resolution, b))
            })
            .collect())
    }

    /// The buckets of `resolution` that end in `(frontier.to, to]` and start inside the
    /// frontier, each merged from its finer buckets: the stored ones before `frontier.to` and
    /// `new` (the finer buckets this step finalises).
    #[expect(clippy::too_many_arguments, reason = "one step's context, read once")]
    async fn closed_parents(
        &self,
        store: &dyn Store,
        calendar: &Calendar,
        frontier: RollupFrontier,
        to: TimestampMs,
        finer: Resolution,
        resolution: Resolution,
        new: &[BucketStats],
    ) -> Result<Vec<BucketStats>, StoreError> {
        let width = resolution.analytics();
        let first = calendar
            .bucket(width, frontier.to)
            .map_err(analytics)?
            .start
            .max(frontier.from);
        let mut children: BTreeMap<TimestampMs, BucketStats> = BTreeMap::new();
        if first < frontier.to {
            let range = TimeRange {
                from: first,
                to: frontier.to,
            };
            for rollup in self.stored(store, finer, range).await? {
                if let Some(stats) = rollup.stats.filter(|s| s.end <= frontier.to) {
                    children.insert(stats.start, stats);
                }
            }
        }
        for stats in new {
            children.insert(stats.start, stats.clone());
        }
        let children: Vec<BucketStats> = children.into_values().collect();
        let parents =
            tally_protocol::analytics::coarsen(&children, calendar, width).map_err(analytics)?;
        Ok(parents
            .into_iter()
            .filter(|p| p.start >= frontier.from && frontier.to < p.end && p.end <= to)
            .collect())
    }

    /// The office's stored rollups of `resolution` starting in `range`.
    async fn stored(
        &self,
        store: &dyn Store,
        resolution: Resolution,
        range: TimeRange,
    ) -> Result<Vec<Rollup>, StoreError> {
        let mut out = Vec::new();
        let mut request = Some(PageRequest::first(MAX_PAGE_LIMIT));
        while let Some(page_request) = request {
            let page = store
                .office_rollups(&self.tenant, &self.office, resolution, range, page_request)
                .await?;
            request = page.next_request(MAX_PAGE_LIMIT);
            out.extend(page.items);
        }
        Ok(out)
    }

    /// Spawns [`OfficeRollups::run`]; the task ends when the returned guard drops (the office
    /// activation ends).
    pub(crate) fn spawn(self, store: SharedStore) -> FinaliserTask {
        FinaliserTask(tokio::spawn(self.run(store)).abort_handle())
    }
}

/// The running finaliser of an office activation; aborted when dropped.
#[derive(Debug)]
pub(crate) struct FinaliserTask(tokio::task::AbortHandle);

impl Drop for FinaliserTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The office's calendar now (UTC without one, or with a time zone this build does not know,
/// as for its rooms).
async fn office_calendar(
    store: &dyn Store,
    tenant: &TenantId,
    office: &OfficeId,
) -> Result<Calendar, StoreError> {
    Ok(match store.office_calendar(tenant, office).await? {
        Some(set) => Calendar::new(&set.time_zone).unwrap_or_else(|_| Calendar::utc()),
        None => Calendar::utc(),
    })
}

/// Start of the local minute holding `ts`.
fn minute_start(calendar: &Calendar, ts: TimestampMs) -> Result<TimestampMs, StoreError> {
    Ok(calendar.bucket(Width::Minute, ts).map_err(analytics)?.start)
}

/// An analytics error while finalising (a calendar that cannot cut the range).
#[expect(clippy::needless_pass_by_value, reason = "shaped for `map_err`")]
fn analytics(err: AnalyticsError) -> StoreError {
    StoreError::Backend(format!("office rollups: {err}"))
}

impl OfficeRollups {
    /// Finalises the office for as long as the activation lives: a step per
    /// [`FINALISE_EVERY`] when caught up, steps back to back while behind. The first step waits
    /// one period, so an activation's own restore (and a failover's many activations) never
    /// compete with it for the store. Ends when a newer owner fences it or the tenant is erased;
    /// a failed step (the store down) is tried again at the next tick, its effect on the node
    /// reported by the writes of the rooms (a storage fault is the node's).
    pub(crate) async fn run(self, store: SharedStore) {
        if !store.keeps_office_rollups() {
            return;
        }
        let mut wait = FINALISE_EVERY;
        loop {
            tokio::time::sleep(wait).await;
            wait = match self.step(&*store, now_ms()).await {
                Ok(FinaliseStep::Behind(_)) => Duration::ZERO,
                Ok(FinaliseStep::Idle | FinaliseStep::CaughtUp(_)) => FINALISE_EVERY,
                Err(StoreError::Fenced { .. } | StoreError::Erased(_)) => return,
                Err(err) => {
                    tracing::warn!(tenant = %self.tenant, office = %self.office, error = %err, "office rollups not finalised; trying again");
                    FINALISE_EVERY
                }
            };
        }
    }
}
