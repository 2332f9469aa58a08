//! An office's display subscribers, with conflation: each display has one frame slot
//! ([`crate::frame_slot`]); a display that has not taken its previous frame gets one fresh
//! snapshot in its place. A slow or stalled display therefore never slows the office, never grows
//! its memory past one frame, and reads the present when it resumes.

use tally_protocol::{DisplayFrame, OfficeId, RoomId, RoomOccupancy};

use crate::frame_slot::{FrameSlotSender, Offered};
use crate::telemetry;

/// Where an office sends the frames of one subscription.
///
/// Today every display connection is on the office's node and has its own frame slot; in a
/// cluster, a node relay (one per interested node, fanning out to that node's displays) will be a
/// second kind of sink behind the same conflation.
#[derive(Debug)]
#[non_exhaustive]
pub enum DisplaySink {
    /// A display connection on this node: its frame slot.
    Local(FrameSlotSender),
}

/// One display connection's subscription.
#[derive(Debug)]
struct Subscriber {
    room: Option<RoomId>,
    sink: DisplaySink,
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
    /// Adds a subscriber and leaves its first snapshot.
    pub(crate) fn subscribe(
        &mut self,
        room: Option<RoomId>,
        sink: DisplaySink,
        source: &impl SnapshotSource,
    ) {
        let subscriber = Subscriber {
            room,
            sink,
            _held: Held::new(),
        };
        let snapshot = source.snapshot(subscriber.room.as_ref());
        if subscriber.offer(snapshot, source) {
            self.subscribers.push(subscriber);
        }
    }

    /// Number of live subscribers.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.subscribers.len()
    }

    /// Drops the subscriptions whose display is gone.
    pub(crate) fn release_closed(&mut self) {
        self.subscribers.retain(|s| !s.is_closed());
    }

    /// Sends a delta (office `version`, office `total`, changed `rooms`) to every subscriber
    /// (a fresh snapshot to one that has not taken its previous frame), and drops closed ones.
    pub(crate) fn publish(
        &mut self,
        office: &OfficeId,
        version: u64,
        total: u64,
        rooms: &[RoomOccupancy],
        source: &impl SnapshotSource,
    ) {
        self.subscribers.retain(|subscriber| {
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
                    None => return !subscriber.is_closed(),
                },
            };
            subscriber.offer(frame, source)
        });
    }
}

impl Subscriber {
    /// Whether the display is gone.
    fn is_closed(&self) -> bool {
        let DisplaySink::Local(slot) = &self.sink;
        slot.is_closed()
    }

    /// Leaves a frame (or a fresh snapshot, if the display has not taken the previous frame);
    /// `false` if the display is gone.
    fn offer(&self, frame: DisplayFrame, source: &impl SnapshotSource) -> bool {
        let DisplaySink::Local(slot) = &self.sink;
        match slot.offer(frame, || source.snapshot(self.room.as_ref())) {
            Offered::Queued => {
                metrics::counter!(telemetry::DISPLAY_FRAMES).increment(1);
                true
            }
            Offered::Conflated => {
                metrics::counter!(telemetry::DISPLAY_RESYNCS).increment(1);
                true
            }
            Offered::Closed => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame_slot::frame_slot;

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

    #[tokio::test]
    async fn a_display_that_does_not_read_gets_the_present_when_it_resumes() {
        let office = OfficeId::new("o").unwrap();
        let mut fanout = DisplayFanout::default();
        let (slot, mut rx) = frame_slot();
        fanout.subscribe(None, DisplaySink::Local(slot), &Fixed);
        for version in 1..=10 {
            fanout.publish(&office, version, 1, &[change("r", 1)], &Fixed);
        }
        // One frame waits, and it is a fresh snapshot, not the first of ten stale ones.
        assert!(matches!(
            rx.recv().await.unwrap(),
            DisplayFrame::Snapshot { version: 99, .. }
        ));
        fanout.publish(&office, 11, 1, &[change("r", 1)], &Fixed);
        assert!(matches!(
            rx.recv().await.unwrap(),
            DisplayFrame::Delta { version: 11, .. }
        ));
    }

    #[tokio::test]
    async fn room_subscriber_sees_only_its_room_and_closed_ones_are_dropped() {
        let office = OfficeId::new("o").unwrap();
        let mut fanout = DisplayFanout::default();
        let (slot, mut rx) = frame_slot();
        fanout.subscribe(
            Some(RoomId::new("a").unwrap()),
            DisplaySink::Local(slot),
            &Fixed,
        );
        let (gone_slot, gone_rx) = frame_slot();
        fanout.subscribe(None, DisplaySink::Local(gone_slot), &Fixed);
        drop(gone_rx);
        assert!(matches!(
            rx.recv().await.unwrap(),
            DisplayFrame::Snapshot { .. }
        ));
        fanout.publish(&office, 1, 5, &[change("b", 5)], &Fixed);
        fanout.publish(&office, 2, 7, &[change("a", 2), change("b", 5)], &Fixed);
        assert_eq!(fanout.len(), 1);
        match rx.recv().await.unwrap() {
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
