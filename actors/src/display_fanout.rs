//! An office's display subscribers, with conflation: a display whose bounded queue is full is
//! marked stale, skips deltas, and gets a fresh snapshot as soon as its queue has room. A slow
//! display therefore never slows the office or grows memory.

use tally_protocol::{DisplayFrame, RoomId, RoomOccupancy};
use tokio::sync::mpsc::{self, error::TrySendError};

use crate::telemetry;

/// Where an office sends the frames of one subscription.
///
/// Today every display connection is on the office's node and has its own bounded queue; in a
/// cluster, a node relay (one per interested node, fanning out to that node's displays) will be a
/// second kind of sink behind the same conflation.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum DisplaySink {
    /// A display connection on this node: its bounded queue.
    Local(mpsc::Sender<DisplayFrame>),
}

/// One display connection's subscription.
#[derive(Debug)]
struct Subscriber {
    room: Option<RoomId>,
    sink: DisplaySink,
    stale: bool,
    /// Counts the subscription in [`telemetry::DISPLAY_SUBSCRIPTIONS`] while it is held.
    _held: Held,
}

/// A subscription held by an office, counted in the subscriptions gauge until dropped.
#[derive(Debug)]
struct Held;

impl Held {
    fn new() -> Self {
        metrics::gauge!(telemetry::DISPLAY_SUBSCRIPTIONS).increment(1.0);
        Self
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        metrics::gauge!(telemetry::DISPLAY_SUBSCRIPTIONS).decrement(1.0);
    }
}

/// The display subscribers of one office.
#[derive(Debug, Default)]
pub(crate) struct DisplayFanout {
    subscribers: Vec<Subscriber>,
}

/// Builds a snapshot for a subscriber (all rooms, or one).
pub(crate) trait SnapshotSource {
    /// The snapshot of the office, or of `room` only.
    fn snapshot(&self, room: Option<&RoomId>) -> DisplayFrame;
}

impl DisplayFanout {
    /// Adds a subscriber and queues its first snapshot.
    pub(crate) fn subscribe(
        &mut self,
        room: Option<RoomId>,
        sink: DisplaySink,
        source: &impl SnapshotSource,
    ) {
        let mut subscriber = Subscriber {
            room,
            sink,
            stale: true,
            _held: Held::new(),
        };
        if subscriber.offer_snapshot(source) {
            self.subscribers.push(subscriber);
        }
    }

    /// Number of live subscribers.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.subscribers.len()
    }

    /// Whether some subscriber waits for a resync snapshot.
    pub(crate) fn has_stale(&self) -> bool {
        self.subscribers.iter().any(|s| s.stale)
    }

    /// Drops the subscriptions whose display is gone.
    pub(crate) fn release_closed(&mut self) {
        self.subscribers.retain(|s| !s.is_closed());
    }

    /// Resyncs stale subscribers whose queues have room again.
    pub(crate) fn resync_stale(&mut self, source: &impl SnapshotSource) {
        self.subscribers
            .retain_mut(|s| !s.stale || s.offer_snapshot(source));
    }

    /// Sends a delta (office `version`, office `total`, changed `rooms`) to every subscriber,
    /// resyncs stale ones with a snapshot, and drops closed ones.
    pub(crate) fn publish(
        &mut self,
        office: &tally_protocol::OfficeId,
        version: u64,
        total: u64,
        rooms: &[RoomOccupancy],
        source: &impl SnapshotSource,
    ) {
        self.subscribers.retain_mut(|subscriber| {
            if subscriber.stale {
                return subscriber.offer_snapshot(source);
            }
            let frame = match &subscriber.room {
                None => DisplayFrame::Delta {
                    office: office.clone(),
                    version,
                    total,
                    rooms: rooms.to_vec(),
                },
                Some(room) => match rooms.iter().find(|r| &r.room == room) {
                    Some(changed) => DisplayFrame::Delta {
                        office: office.clone(),
                        version,
                        total: u64::from(changed.count),
                        rooms: vec![changed.clone()],
                    },
                    None => return true,
                },
            };
            subscriber.offer(frame)
        });
    }
}

impl Subscriber {
    /// Whether the display is gone.
    fn is_closed(&self) -> bool {
        let DisplaySink::Local(sender) = &self.sink;
        sender.is_closed()
    }

    /// Queues a frame; `false` if the display is gone.
    fn offer(&mut self, frame: DisplayFrame) -> bool {
        let DisplaySink::Local(sender) = &self.sink;
        match sender.try_send(frame) {
            Ok(()) => {
                metrics::counter!(telemetry::DISPLAY_FRAMES).increment(1);
                true
            }
            Err(TrySendError::Full(_)) => {
                if !self.stale {
                    metrics::counter!(telemetry::DISPLAY_RESYNCS).increment(1);
                }
                self.stale = true;
                true
            }
            Err(TrySendError::Closed(_)) => false,
        }
    }

    /// Queues a fresh snapshot if the queue has room; `false` if the display is gone.
    fn offer_snapshot(&mut self, source: &impl SnapshotSource) -> bool {
        let DisplaySink::Local(sender) = &self.sink;
        match sender.try_reserve() {
            Ok(permit) => {
                permit.send(source.snapshot(self.room.as_ref()));
                self.stale = false;
                true
            }
            Err(TrySendError::Full(())) => true,
            Err(TrySendError::Closed(())) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use tally_protocol::OfficeId;

    use super::*;

    struct Fixed;
    impl SnapshotSource for Fixed {
        fn snapshot(&self, _room: Option<&RoomId>) -> DisplayFrame {
            DisplayFrame::Snapshot {
                office: OfficeId::new("o").unwrap(),
                version: 99,
                total: 0,
                capacity: 0,
                rooms: vec![],
            }
        }
    }

    fn change(room: &str, count: u32) -> RoomOccupancy {
        RoomOccupancy {
            stale_sensors: 0,
            room: RoomId::new(room).unwrap(),
            count,
            capacity: 10,
            ts: 0,
        }
    }

    #[test]
    fn slow_display_is_conflated_then_resynced() {
        let office = OfficeId::new("o").unwrap();
        let mut fanout = DisplayFanout::default();
        let (tx, mut rx) = mpsc::channel(2);
        fanout.subscribe(None, DisplaySink::Local(tx), &Fixed);
        for version in 1..=10 {
            fanout.publish(&office, version, 1, &[change("r", 1)], &Fixed);
        }
        // Queue of 2: the snapshot and one delta; the rest were conflated.
        assert!(matches!(
            rx.try_recv().unwrap(),
            DisplayFrame::Snapshot { .. }
        ));
        assert!(matches!(
            rx.try_recv().unwrap(),
            DisplayFrame::Delta { version: 1, .. }
        ));
        assert!(rx.try_recv().is_err());
        assert!(fanout.has_stale());
        fanout.publish(&office, 11, 1, &[change("r", 1)], &Fixed);
        assert!(matches!(
            rx.try_recv().unwrap(),
            DisplayFrame::Snapshot { version: 99, .. }
        ));
        assert!(!fanout.has_stale());
    }

    #[test]
    fn room_subscriber_sees_only_its_room_and_closed_ones_are_dropped() {
        let office = OfficeId::new("o").unwrap();
        let mut fanout = DisplayFanout::default();
        let (tx, mut rx) = mpsc::channel(8);
        fanout.subscribe(
            Some(RoomId::new("a").unwrap()),
            DisplaySink::Local(tx),
            &Fixed,
        );
        let (gone_tx, gone_rx) = mpsc::channel(8);
        fanout.subscribe(None, DisplaySink::Local(gone_tx), &Fixed);
        drop(gone_rx);
        fanout.publish(&office, 1, 5, &[change("b", 5)], &Fixed);
        fanout.publish(&office, 2, 7, &[change("a", 2), change("b", 5)], &Fixed);
        assert_eq!(fanout.len(), 1);
        assert!(matches!(
            rx.try_recv().unwrap(),
            DisplayFrame::Snapshot { .. }
        ));
        match rx.try_recv().unwrap() {
            DisplayFrame::Delta {
                version,
                total,
                rooms,
                ..
            } => assert_eq!((version, total, rooms.len()), (2, 2, 1)),
            other => panic!("unexpected {other:?}"),
        }
    }
}
