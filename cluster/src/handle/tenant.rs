//! [`TenantStream`]: a tenant-wide display subscription, built from one office subscription per
//! office through [`Router::office`] and [`crate::OfficeHandle::subscribe`], so it works wherever
//! the offices live. It turns their frames into each office's total and capacity.

use std::collections::{BTreeMap, BTreeSet};

use futures::stream::{self, BoxStream, SelectAll};
use futures::{FutureExt, StreamExt};
use tally_protocol::{
    DisplayFrame, OfficeOccupancy, RoomId, RoomOccupancy, ServiceError, TenantFrame, TenantId,
};
use tally_storage::Office;

use crate::{DisplayStream, Router};

/// One office as the tenant view tallies it.
#[derive(Debug)]
struct OfficeTally {
    record: Office,
    total: u64,
    /// Capacity and stale sensors by room.
    rooms: BTreeMap<RoomId, (u32, u32)>,
}

impl OfficeTally {
    fn apply(&mut self, frame: DisplayFrame) {
        let rooms = match frame {
            DisplayFrame::Snapshot { total, rooms, .. } => {
                self.rooms.clear();
                self.total = total;
                rooms
            }
            DisplayFrame::Delta { total, rooms, .. } => {
                self.total = total;
                rooms
            }
            DisplayFrame::Error { .. } => return,
        };
        for RoomOccupancy {
            room,
            capacity,
            stale_sensors,
            ..
        } in rooms
        {
            self.rooms.insert(room, (capacity, stale_sensors));
        }
    }

    fn occupancy(&self) -> OfficeOccupancy {
        OfficeOccupancy {
            office: self.record.id.clone(),
            name: self.record.name.clone(),
            total: self.total,
            capacity: self.rooms.values().map(|(c, _)| u64::from(*c)).sum(),
            stale_rooms: self.rooms.values().filter(|(_, s)| *s > 0).count() as u32,
        }
    }
}

/// Frames of every office, tagged with the office's index; `None` once that office's stream
/// ended.
type OfficeFrames = SelectAll<BoxStream<'static, (usize, Option<DisplayFrame>)>>;

/// A tenant-wide subscription: a snapshot of every office first, then deltas naming the offices
/// whose occupancy changed. Ends when any office's subscription ends (subscribe again).
///
/// Conflating: whatever the offices published since the last call is folded into one frame,
/// and each office keeps at most one pending frame, so a display that reads slowly reads the
/// present.
pub struct TenantStream {
    tenant: TenantId,
    offices: Vec<OfficeTally>,
    frames: OfficeFrames,
    version: u64,
    changed: BTreeSet<usize>,
}

impl std::fmt::Debug for TenantStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantStream")
            .field("tenant", &self.tenant)
            .field("offices", &self.offices)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl TenantStream {
    /// Subscribes to every office in `offices` (the tenant's, from the registry) and reads each
    /// one's snapshot.
    ///
    /// # Errors
    /// The first office that cannot be subscribed to.
    pub async fn subscribe(
        router: &dyn Router,
        tenant: &TenantId,
        offices: Vec<Office>,
    ) -> Result<Self, ServiceError> {
        let mut tallies = Vec::with_capacity(offices.len());
        let mut frames = OfficeFrames::new();
        for (index, record) in offices.into_iter().enumerate() {
            let mut display = router
                .office(tenant, &record.id)
                .await?
                .subscribe(None)
                .await?;
            let mut tally = OfficeTally {
                record,
                total: 0,
                rooms: BTreeMap::new(),
            };
            let first = display.next().await.ok_or_else(|| {
                ServiceError::Unavailable(format!("office {} stopped", tally.record.id))
            })?;
            tally.apply(first);
            tallies.push(tally);
            frames.push(tagged(index, display));
        }
        Ok(Self {
            tenant: tenant.clone(),
            offices: tallies,
            frames,
            version: 0,
            changed: BTreeSet::new(),
        })
    }

    /// The next frame: the snapshot first, then a delta once some office's occupancy changed;
    /// `None` once an office's subscription ended. A tenant without offices gets its (empty)
    /// snapshot and then waits.
    ///
    /// # Cancel safety
    /// Cancel safe: office frames are folded in only when they are taken.
    pub async fn next(&mut self) -> Option<TenantFrame> {
        if self.version == 0 {
            self.version = 1;
            return Some(self.snapshot());
        }
        loop {
            if self.frames.is_empty() {
                std::future::pending::<()>().await;
            }
            let (index, frame) = self.frames.next().await?;
            self.fold(index, frame?);
            // Fold in everything else already published, so one frame says it all.
            while let Some(Some((index, frame))) = self.frames.next().now_or_never() {
                self.fold(index, frame?);
            }
            if !self.changed.is_empty() {
                self.version += 1;
                let changed = std::mem::take(&mut self.changed);
                return Some(TenantFrame::TenantDelta {
                    tenant: self.tenant.clone(),
                    version: self.version,
                    total: self.total(),
                    offices: changed
                        .into_iter()
                        .map(|i| self.offices[i].occupancy())
                        .collect(),
                });
            }
        }
    }

    /// Applies an office's frame; marks the office changed if what the tenant view shows moved.
    fn fold(&mut self, index: usize, frame: DisplayFrame) {
        let Some(tally) = self.offices.get_mut(index) else {
            return;
        };
        let before = tally.occupancy();
        tally.apply(frame);
        if tally.occupancy() != before {
            self.changed.insert(index);
        }
    }

    fn total(&self) -> u64 {
        self.offices.iter().map(|o| o.total).sum()
    }

    fn snapshot(&self) -> TenantFrame {
        let offices: Vec<OfficeOccupancy> =
            self.offices.iter().map(OfficeTally::occupancy).collect();
        TenantFrame::TenantSnapshot {
            tenant: self.tenant.clone(),
            version: self.version,
            total: self.total(),
            capacity: offices.iter().map(|o| o.capacity).sum(),
            offices,
        }
    }
}

/// An office's frames tagged with its index, then `None` when they end.
fn tagged(
    index: usize,
    display: DisplayStream,
) -> BoxStream<'static, (usize, Option<DisplayFrame>)> {
    stream::unfold(display, |mut display| async move {
        display.next().await.map(|frame| (frame, display))
    })
    .map(move |frame| (index, Some(frame)))
    .chain(stream::once(async move { (index, None) }))
    .boxed()
}
