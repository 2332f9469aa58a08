//! [`Relays`]: this node's displays on offices owned by peers. One relay per peer, office and
//! room filter carries each frame across once; here it is fanned out to the local displays.
//!
//! Each relay keeps a mirror of the office (the last snapshot with the deltas since applied),
//! so a display that joins a running relay, or falls behind, gets a snapshot from here without
//! asking the owner: the same conflation the office applies to its local displays.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tally_actors::{FrameSlotReceiver, FrameSlotSender, Offered, frame_slot};
use tally_protocol::{DisplayFrame, OfficeId, RoomId, RoomOccupancy, ServiceError, TenantId};

use crate::transport::link::{Link, unexpected};
use crate::transport::wire::{Reply, Request};

/// The relays of this node, by id.
#[derive(Debug, Default)]
pub(crate) struct Relays {
    inner: Mutex<RelaysInner>,
    next_id: AtomicU64,
}

#[derive(Debug, Default)]
struct RelaysInner {
    by_key: HashMap<RelayKey, u64>,
    relays: HashMap<u64, Relay>,
}

/// What a relay carries: an office (or one room of it) of a tenant, from one peer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct RelayKey {
    peer: String,
    tenant: TenantId,
    office: OfficeId,
    room: Option<RoomId>,
}

#[derive(Debug)]
struct Relay {
    key: RelayKey,
    link: Arc<Link>,
    mirror: Option<Mirror>,
    subscribers: HashMap<u64, LocalDisplay>,
}

#[derive(Debug)]
struct LocalDisplay {
    frames: FrameSlotSender,
    /// Has not had a snapshot yet, or missed a frame (the relay lost track of the office's
    /// version): gets a snapshot from the mirror next.
    stale: bool,
}

/// The office as the relayed frames describe it.
#[derive(Debug)]
struct Mirror {
    office: OfficeId,
    version: u64,
    total: u64,
    capacity: u64,
    rooms: Vec<RoomOccupancy>,
}

impl Mirror {
    fn from_snapshot(frame: &DisplayFrame) -> Option<Self> {
        match frame {
            DisplayFrame::Snapshot {
                office,
                version,
                total,
                capacity,
                rooms,
            } => Some(Self {
                office: office.clone(),
                version: *version,
                total: *total,
                capacity: *capacity,
                rooms: rooms.clone(),
            }),
            _ => None,
        }
    }

    /// Applies a delta; `false` if it does not follow the mirror's version (then the mirror
    /// is dropped until the next snapshot).
    fn apply(&mut self, frame: &DisplayFrame) -> bool {
        let DisplayFrame::Delta {
            version,
            total,
            rooms,
            ..
        } = frame
        else {
            return true;
        };
        if *version != self.version + 1 {
            return false;
        }
        self.version = *version;
        self.total = *total;
        for changed in rooms {
            match self.rooms.iter_mut().find(|room| room.room == changed.room) {
                Some(room) => *room = changed.clone(),
                None => self.rooms.push(changed.clone()),
            }
        }
        true
    }

    fn snapshot(&self) -> DisplayFrame {
        DisplayFrame::Snapshot {
            office: self.office.clone(),
            version: self.version,
            total: self.total,
            capacity: self.capacity,
            rooms: self.rooms.clone(),
        }
    }
}

impl Relay {
    /// Updates the mirror with `frame` and hands it to every display: a display that is stale
    /// gets the mirror's snapshot instead, one that has not taken its previous frame finds the
    /// mirror's snapshot in its slot (conflation), one that left is dropped.
    fn fan_out(&mut self, frame: &DisplayFrame) {
        if let Some(snapshot) = Mirror::from_snapshot(frame) {
            self.mirror = Some(snapshot);
        } else if let Some(mirror) = &mut self.mirror
            && !mirror.apply(frame)
        {
            self.mirror = None;
        }
        let mirror = self.mirror.as_ref();
        self.subscribers.retain(|_, display| {
            let Some(mirror) = mirror else {
                // Lost track of the office's version: wait for its next snapshot.
                display.stale = true;
                return !display.frames.is_closed();
            };
            let next = if display.stale {
                mirror.snapshot()
            } else {
                frame.clone()
            };
            match display.frames.offer(next, || mirror.snapshot()) {
                Offered::Closed => false,
                Offered::Queued | Offered::Conflated => {
                    display.stale = false;
                    true
                }
            }
        });
    }

    /// Gives a new (stale) display the mirror's snapshot if there is one.
    fn greet(&mut self, subscriber: u64) {
        let (Some(mirror), Some(display)) = (&self.mirror, self.subscribers.get_mut(&subscriber))
        else {
            return;
        };
        if display
            .frames
            .offer(mirror.snapshot(), || mirror.snapshot())
            != Offered::Closed
        {
            display.stale = false;
        }
    }
}

/// A local display's place in a relay: dropping it leaves the relay, and the last display to
/// leave ends the relay on the owner.
#[derive(Debug)]
pub(crate) struct RelayLease {
    relays: Arc<Relays>,
    relay: u64,
    subscriber: u64,
}

impl Drop for RelayLease {
    fn drop(&mut self) {
        self.relays.leave(self.relay, self.subscriber);
    }
}

/// What a remote office handle needs to subscribe: the link to the owner and the office.
#[derive(Debug, Clone)]
pub(crate) struct RelayTarget {
    pub(crate) link: Arc<Link>,
    pub(crate) tenant: TenantId,
    pub(crate) office: OfficeId,
}

impl Relays {
    /// Subscribes a local display (one frame slot) to an office of the peer
    /// behind `target.link`: joins the running relay of that office and room filter, or asks
    /// the owner for a new one.
    ///
    /// # Errors
    /// The owner's error ([`ServiceError::NotFound`] for a room not in the office), or
    /// [`ServiceError::Unavailable`] if it is down or did not answer in time.
    pub(crate) async fn subscribe(
        self: &Arc<Self>,
        target: &RelayTarget,
        room: Option<RoomId>,
    ) -> Result<(FrameSlotReceiver, RelayLease), ServiceError> {
        let (frames, receiver) = frame_slot();
        let key = RelayKey {
            peer: target.link.peer().to_owned(),
            tenant: target.tenant.clone(),
            office: target.office.clone(),
            room: room.clone(),
        };
        let subscriber = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (relay, is_new) = {
            let mut inner = self.inner.lock().unwrap();
            let running = inner.by_key.get(&key).copied().filter(|id| {
                inner.relays.get(id).is_some_and(|relay| {
                    Arc::ptr_eq(&relay.link, &target.link) && !relay.link.is_down()
                })
            });
            let (relay, is_new) = match running {
                Some(id) => (id, false),
                None => {
                    let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                    if let Some(old) = inner.by_key.insert(key.clone(), id) {
                        inner.relays.remove(&old);
                    }
                    let relay = Relay {
                        key,
                        link: target.link.clone(),
                        mirror: None,
                        subscribers: HashMap::new(),
                    };
                    inner.relays.insert(id, relay);
                    (id, true)
                }
            };
            let entry = inner.relays.get_mut(&relay).expect("relay just found");
            let display = LocalDisplay {
                frames,
                stale: true,
            };
            entry.subscribers.insert(subscriber, display);
            entry.greet(subscriber);
            (relay, is_new)
        };
        let lease = RelayLease {
            relays: self.clone(),
            relay,
            subscriber,
        };
        if is_new {
            let request = Request::Subscribe {
                relay,
                tenant: target.tenant.clone(),
                office: target.office.clone(),
                room,
            };
            let subscribed = match target.link.call(request).await {
                Ok(Reply::Done) => Ok(()),
                Ok(other) => Err(unexpected(&other)),
                Err(err) => Err(err.into()),
            };
            if let Err(err) = subscribed {
                self.end(relay);
                return Err(err);
            }
        }
        Ok((receiver, lease))
    }

    /// A frame of `relay` from `peer` (frames of a relay this node does not hold from that peer
    /// are dropped: a peer feeds only its own relays).
    pub(crate) fn deliver(&self, peer: &str, relay: u64, frame: &DisplayFrame) {
        let mut inner = self.inner.lock().unwrap();
        if let Some(relay) = inner.relays.get_mut(&relay)
            && relay.key.peer == peer
        {
            relay.fan_out(frame);
        }
    }

    /// The owner ended `relay` (its office stopped): its displays' streams end, so they
    /// subscribe again.
    pub(crate) fn ended(&self, peer: &str, relay: u64) {
        let owned = {
            let inner = self.inner.lock().unwrap();
            inner.relays.get(&relay).is_some_and(|r| r.key.peer == peer)
        };
        if owned {
            self.end(relay);
        }
    }

    /// The link to `peer` went down: every relay from it ends.
    pub(crate) fn peer_down(&self, peer: &str) {
        let mut inner = self.inner.lock().unwrap();
        inner.relays.retain(|_, relay| relay.key.peer != peer);
        inner.by_key.retain(|key, _| key.peer != peer);
    }

    fn end(&self, relay: u64) {
        let mut inner = self.inner.lock().unwrap();
        if let Some(ended) = inner.relays.remove(&relay)
            && inner.by_key.get(&ended.key) == Some(&relay)
        {
            inner.by_key.remove(&ended.key);
        }
    }

    fn leave(&self, relay: u64, subscriber: u64) {
        let mut inner = self.inner.lock().unwrap();
        let Some(entry) = inner.relays.get_mut(&relay) else {
            return;
        };
        entry.subscribers.remove(&subscriber);
        if !entry.subscribers.is_empty() {
            return;
        }
        let link = entry.link.clone();
        drop(inner);
        self.end(relay);
        let _ = link.cast(Request::Unsubscribe { relay });
    }

    /// Relays running now (tests and diagnostics).
    pub(crate) fn len(&self) -> usize {
        self.inner.lock().unwrap().relays.len()
    }
}
