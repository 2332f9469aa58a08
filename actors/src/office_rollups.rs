//! Stored area rollups, finalised by an office activation: its office's rooms' counts summed
//! at the same instants (peak of the sum, not sum of the peaks) in the office's local time,
//! and, when the office is its tenant's anchor, every room of every office of the tenant in
//! UTC, at every resolution, once late readings can no longer change them.
//!
//! # One finaliser per area
//!
//! An office's rollups are finalised by its owner. The tenant area has exactly one writer too:
//! the activation of the tenant's *anchor* office ([`anchor_office`]: the smallest office id
//! among the tenant's offices that have rooms) also finalises the tenant area, under that
//! office's owner token. In a cluster exactly one node owns the anchor office (lease, then
//! store token), so this needs no coordination of its own; after a handoff or a restart the next
//! owner continues from the stored frontier. When the anchor changes (a smaller office gets its
//! first room) two activations may both step for a moment: each step computes the same buckets
//! from the same final raw readings, so the overlap writes nothing different.
//!
//! # The anchor is active while any office of the tenant is
//!
//! The tenant's rollups advance whenever the tenant has any active office, not only while a sensor
//! of the anchor office is connected: the finaliser of every other office asks for the anchor at
//! every tick, the first one period after its activation starts ([`OfficeRollups::tenant_part`]
//! answers [`TenantPart::AnchorElsewhere`]; `office_rollups_task.rs` casts the call to its tenant
//! supervisor). On a single node the tenant supervisor activates the anchor (owner token 0); in a
//! cluster it announces an [`crate::AnchorWanted`] and the cluster's router activates the anchor on
//! the node placement names its owner, under that node's claim. So the anchor comes back within a
//! tick after a restart, a failure or a handoff while the tenant has any active office (offices are
//! not passivated for being idle: an activation lasts until a handoff, a failure or the node's
//! stop). The writer is still the anchor's activation alone, fenced by its owner token; a tenant
//! with no active office has no finaliser, and its answers come from raw readings past its frontier
//! (exact, slower) until one activates.
//!
//! # A step
//!
//! A step finalises the minutes from the area's frontier up to the lateness before node time
//! and before the least rolled-up room's frontier (sensor time), at most [`MAX_STEP`] at a time
//! for an office, [`MAX_TENANT_STEP`] for the tenant area, which reads every room of the tenant
//! (a room whose sensors went quiet does not hold it back for long: it seals its own frontier
//! at node time − lateness once it has heard nothing for the lateness, see `rollup/sealing.rs`;
//! answers past the area's frontier come from raw readings). It reads the rooms' raw readings a
//! few rooms at a time ([`ROOMS_PER_READ`]), sums their counts into minutes with
//! `tally_protocol::analytics` (the math every answer uses), and every quarter hour, hour and
//! day that ends inside the step from its finer buckets (those of the step and the stored ones
//! before it). Buckets and the new frontier are written in one write under the office's owner
//! token. Only buckets with something observed are stored; inside the frontier an absent bucket
//! had neither a reading nor a live sensor, as for rooms.
//!
//! Idempotent: a step computes from stored raw readings only, so running it again (after a
//! restart, or on the next owner after a handoff) writes the same buckets; the frontier is
//! restored from the store and only moves forward.

use std::collections::BTreeMap;
use std::time::Duration;

use tally_protocol::analytics::{
    AnalyticsError, BucketStats, Calendar, Resolution as Width, Series,
};
use tally_protocol::{OfficeId, TenantId, TimestampMs};
use tally_storage::{
    AreaRollupWrite, MAX_PAGE_LIMIT, PageRequest, Resolution, Rollup, RollupArea, RollupFrontier,
    Room, Store, StoreError, TimeRange,
};

/// Most sensor time one step of an office finalises: a backlog (a new office, a node that was
/// down) is caught up a day per step.
pub const MAX_STEP: Duration = Duration::from_secs(86_400);

/// Most sensor time one step of the tenant area finalises: it reads every room of the tenant,
/// so an hour per step.
pub const MAX_TENANT_STEP: Duration = Duration::from_secs(3_600);

/// How many rooms' raw readings a step holds at once: the rooms are read and summed in pages
/// of this many, the running sum kept.
pub const ROOMS_PER_READ: usize = 32;

/// How often an office that is caught up looks for minutes to finalise (the default of
/// [`crate::ActorSettings::finalise_every`]).
pub const FINALISE_EVERY: Duration = Duration::from_secs(60);

/// One office activation's finaliser: what it writes and under which token.
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

/// What an office activation does for its tenant's area at a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TenantPart {
    /// The office is the anchor: it stepped the tenant area.
    Stepped(FinaliseStep),
    /// Another office is the anchor; it must be active for the tenant's rollups to advance.
    AnchorElsewhere(OfficeId),
    /// No office of the tenant has a room yet.
    NoAnchor,
}

/// The tenant's anchor office: the smallest office id among its offices that have rooms (the
/// one whose activation finalises the tenant area); `None` while no office has a room.
///
/// # Errors
/// The store's.
pub async fn anchor_office(
    store: &dyn Store,
    tenant: &TenantId,
) -> Result<Option<OfficeId>, StoreError> {
    for office in store.offices(tenant).await? {
        if !store.rooms(tenant, &office.id).await?.is_empty() {
            return Ok(Some(office.id));
        }
    }
    Ok(None)
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
        let area = AreaFinaliser {
            rollups: self,
            area: RollupArea::Office(self.office.clone()),
            rooms: store.rooms(&self.tenant, &self.office).await?,
            calendar: office_calendar(store, &self.tenant, &self.office).await?,
            max_step: MAX_STEP,
        };
        area.step(store, now).await
    }

    /// Finalises the next part of the tenant area at node time `now` (at most
    /// [`MAX_TENANT_STEP`]) if this office is the tenant's [`anchor_office`]; `None` (and
    /// nothing written) otherwise.
    ///
    /// # Errors
    /// As [`OfficeRollups::step`].
    pub async fn tenant_step(
        &self,
        store: &dyn Store,
        now: TimestampMs,
    ) -> Result<Option<FinaliseStep>, StoreError> {
        Ok(match self.tenant_part(store, now).await? {
            TenantPart::Stepped(step) => Some(step),
            TenantPart::AnchorElsewhere(_) | TenantPart::NoAnchor => None,
        })
    }

    /// As [`OfficeRollups::tenant_step`], naming the anchor when it is another office.
    pub(crate) async fn tenant_part(
        &self,
        store: &dyn Store,
        now: TimestampMs,
    ) -> Result<TenantPart, StoreError> {
        match anchor_office(store, &self.tenant).await? {
            Some(anchor) if anchor == self.office => {}
            Some(anchor) => return Ok(TenantPart::AnchorElsewhere(anchor)),
            None => return Ok(TenantPart::NoAnchor),
        }
        let mut rooms = Vec::new();
        for office in store.offices(&self.tenant).await? {
            rooms.extend(store.rooms(&self.tenant, &office.id).await?);
        }
        let area = AreaFinaliser {
            rollups: self,
            area: RollupArea::Tenant,
            rooms,
            calendar: Calendar::utc(),
            max_step: MAX_TENANT_STEP,
        };
        area.step(store, now).await.map(TenantPart::Stepped)
    }
}

/// One area's step: its rooms, its calendar and its step bound, written under the owner token
/// of the activation's office.
#[derive(Debug)]
struct AreaFinaliser<'a> {
    /// The activation (tenant, fencing office and token, hold and lateness).
    rollups: &'a OfficeRollups,
    /// The area finalised.
    area: RollupArea,
    /// Every room of the area.
    rooms: Vec<Room>,
    /// The area's buckets: the office's local time, UTC for the tenant.
    calendar: Calendar,
    /// Most sensor time one step finalises.
    max_step: Duration,
}

impl AreaFinaliser<'_> {
    /// Finalises the next part of the area at node time `now`.
    async fn step(&self, store: &dyn Store, now: TimestampMs) -> Result<FinaliseStep, StoreError> {
        let tenant = &self.rollups.tenant;
        let Some(rooms) = self.rooms_rolled(store).await? else {
            return Ok(FinaliseStep::Idle);
        };
        // Final: older than the lateness by node time and by every room's sensor time (a room
        // still corrects its buckets within the lateness of its own rolled-up part).
        let lateness = self.rollups.lateness_ms;
        let until = self.minute_start(now.min(rooms.to).saturating_sub(lateness))?;
        let frontier = store
            .area_rollup_frontier(tenant, &self.area)
            .await?
            .unwrap_or(RollupFrontier {
                from: rooms.from,
                to: rooms.from,
            });
        if frontier.to >= until {
            return Ok(FinaliseStep::CaughtUp(frontier));
        }
        let step_ms = i64::try_from(self.max_step.as_millis()).unwrap_or(i64::MAX);
        let to = until.min(self.minute_start(frontier.to.saturating_add(step_ms))?);
        let rollups = self.buckets(store, frontier, to).await?;
        let next = RollupFrontier { to, ..frontier };
        store
            .write_area_rollups(&AreaRollupWrite {
                tenant: tenant.clone(),
                area: self.area.clone(),
                office: self.rollups.office.clone(),
                owner_token: self.rollups.owner_token,
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

    /// What the area's rooms rolled up together: from the first start of any room's rollups
    /// (where an area that never finalised anything begins) to the least rolled-up room's
    /// end; `None` before any room rolled up. A room that never rolled up holds nobody back.
    async fn rooms_rolled(&self, store: &dyn Store) -> Result<Option<RollupFrontier>, StoreError> {
        let mut rolled: Option<RollupFrontier> = None;
        for room in &self.rooms {
            let state = store.room_state(&self.rollups.tenant, &room.id).await?;
            if let Some(room) = state.and_then(|s| s.rollups) {
                rolled = Some(rolled.map_or(room, |all| RollupFrontier {
                    from: all.from.min(room.from),
                    to: all.to.min(room.to),
                }));
            }
        }
        Ok(rolled)
    }

    /// The area's count over `range`: its rooms' series summed at the same instants, read
    /// [`ROOMS_PER_READ`] rooms at a time into a running sum.
    async fn series(&self, store: &dyn Store, range: TimeRange) -> Result<Series, StoreError> {
        let (tenant, hold_ms) = (&self.rollups.tenant, self.rollups.hold_ms);
        let mut sum = Series::default();
        for rooms in self.rooms.chunks(ROOMS_PER_READ) {
            let part = tally_storage::rooms_series(store, tenant, rooms, range, hold_ms).await?;
            sum = Series::sum(&[sum, part]);
        }
        Ok(sum)
    }

    /// Every bucket of every resolution finalised by moving the frontier to `to`.
    async fn buckets(
        &self,
        store: &dyn Store,
        frontier: RollupFrontier,
        to: TimestampMs,
    ) -> Result<Vec<Rollup>, StoreError> {
        let from = frontier.to;
        let series = self.series(store, TimeRange { from, to }).await?;
        let minutes =
            tally_protocol::analytics::roll_up(&series, &self.calendar, Width::Minute, from, to)
                .map_err(analytics)?;
        let mut levels = vec![minutes];
        for (finer, resolution) in Resolution::ALL.into_iter().zip(&Resolution::ALL[1..]) {
            let new = levels.last().map(Vec::as_slice).unwrap_or_default();
            let parents = self
                .closed_parents(store, frontier, to, (finer, *resolution), new)
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

    /// The buckets of the coarser resolution of `(finer, resolution)` that end in
    /// `(frontier.to, to]` and start inside the frontier, each merged from its finer buckets:
    /// the stored ones before `frontier.to` and `new` (the finer buckets this step finalises).
    async fn closed_parents(
        &self,
        store: &dyn Store,
        frontier: RollupFrontier,
        to: TimestampMs,
        (finer, resolution): (Resolution, Resolution),
        new: &[BucketStats],
    ) -> Result<Vec<BucketStats>, StoreError> {
        let width = resolution.analytics();
        let first = self
            .calendar
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
        let parents = tally_protocol::analytics::coarsen(&children, &self.calendar, width)
            .map_err(analytics)?;
        Ok(parents
            .into_iter()
            .filter(|p| p.start >= frontier.from && frontier.to < p.end && p.end <= to)
            .collect())
    }

    /// The area's stored rollups of `resolution` starting in `range`.
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
                .area_rollups(
                    &self.rollups.tenant,
                    &self.area,
                    resolution,
                    range,
                    page_request,
                )
                .await?;
            request = page.next_request(MAX_PAGE_LIMIT);
            out.extend(page.items);
        }
        Ok(out)
    }

    /// Start of the area's minute holding `ts`.
    fn minute_start(&self, ts: TimestampMs) -> Result<TimestampMs, StoreError> {
        Ok(self
            .calendar
            .bucket(Width::Minute, ts)
            .map_err(analytics)?
            .start)
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

/// An analytics error while finalising (a calendar that cannot cut the range).
#[expect(clippy::needless_pass_by_value, reason = "shaped for `map_err`")]
fn analytics(err: AnalyticsError) -> StoreError {
    StoreError::Backend(format!("area rollups: {err}"))
}
