//! One display subscription's pending frame: the office leaves at most one frame per display,
//! and a display that has not taken the previous frame yet finds a fresh snapshot instead of a
//! backlog. Whatever the display reads next is therefore the present, never the past, and an
//! office holds at most one frame per display however long the display stalls.

use std::sync::{Arc, Mutex, MutexGuard};

use tally_protocol::DisplayFrame;
use tokio::sync::Notify;

/// Creates a slot: the office's end and the display's end.
pub fn frame_slot() -> (FrameSlotSender, FrameSlotReceiver) {
    let shared = Arc::new(Shared::default());
    (
        FrameSlotSender {
            shared: Arc::clone(&shared),
        },
        FrameSlotReceiver { shared },
    )
}

#[derive(Debug, Default)]
struct Shared {
    pending: Mutex<Pending>,
    /// Woken when a frame is put or the office's end is dropped.
    ready: Notify,
}

#[derive(Debug, Default)]
struct Pending {
    frame: Option<DisplayFrame>,
    sender_gone: bool,
    receiver_gone: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // Nothing panics while holding the lock; a poisoned lock still holds a consistent value.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What [`FrameSlotSender::offer`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offered {
    /// The frame waits for the display.
    Queued,
    /// The display had not taken the previous frame: both were replaced by a fresh snapshot.
    Conflated,
    /// The display is gone.
    Closed,
}

/// The office's end of a display's slot. Dropping it ends the display's stream.
#[derive(Debug)]
pub struct FrameSlotSender {
    shared: Arc<Shared>,
}

impl FrameSlotSender {
    /// Leaves `frame` for the display, or, if the display has not taken the previous frame yet,
    /// a fresh `snapshot()` in place of both.
    pub fn offer(&self, frame: DisplayFrame, snapshot: impl FnOnce() -> DisplayFrame) -> Offered {
        let mut pending = self.shared.lock();
        if pending.receiver_gone {
            return Offered::Closed;
        }
        let offered = if pending.frame.is_some() {
            pending.frame = Some(snapshot());
            Offered::Conflated
        } else {
            pending.frame = Some(frame);
            Offered::Queued
        };
        drop(pending);
        self.shared.ready.notify_one();
        offered
    }

    /// Whether the display is gone.
    pub fn is_closed(&self) -> bool {
        self.shared.lock().receiver_gone
    }
}

impl Drop for FrameSlotSender {
    fn drop(&mut self) {
        self.shared.lock().sender_gone = true;
        self.shared.ready.notify_one();
    }
}

/// The display's end of its slot. Dropping it tells the office the display is gone.
#[derive(Debug)]
pub struct FrameSlotReceiver {
    shared: Arc<Shared>,
}

impl FrameSlotReceiver {
    /// The pending frame, waiting for one; `None` once the office's end is gone and nothing is
    /// left.
    ///
    /// # Cancel safety
    /// Cancel safe: a frame is taken only when it is returned.
    pub async fn recv(&mut self) -> Option<DisplayFrame> {
        loop {
            {
                let mut pending = self.shared.lock();
                if let Some(frame) = pending.frame.take() {
                    return Some(frame);
                }
                if pending.sender_gone {
                    return None;
                }
            }
            // A notification sent since the lock was released is kept as a permit.
            self.shared.ready.notified().await;
        }
    }

    /// Marks the display gone now (the office releases it at its next look).
    pub fn close(&mut self) {
        let mut pending = self.shared.lock();
        pending.receiver_gone = true;
        pending.frame = None;
    }
}

impl Drop for FrameSlotReceiver {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use tally_protocol::OfficeId;

    use super::*;

    fn frame(version: u64, snapshot: bool) -> DisplayFrame {
        let office = OfficeId::new("o").unwrap();
        if snapshot {
            DisplayFrame::Snapshot {
                office,
                version,
                total: 0,
                capacity: 0,
                rooms: vec![],
            }
        } else {
            DisplayFrame::Delta {
                office,
                version,
                total: 0,
                rooms: vec![],
            }
        }
    }

    #[tokio::test]
    async fn a_display_that_did_not_take_its_frame_gets_one_fresh_snapshot() {
        let (sender, mut receiver) = frame_slot();
        assert_eq!(
            sender.offer(frame(1, false), || unreachable!()),
            Offered::Queued
        );
        assert_eq!(receiver.recv().await, Some(frame(1, false)));
        for version in 2..=100 {
            let offered = sender.offer(frame(version, false), || frame(version, true));
            let expected = if version == 2 {
                Offered::Queued
            } else {
                Offered::Conflated
            };
            assert_eq!(offered, expected);
        }
        assert_eq!(receiver.recv().await, Some(frame(100, true)));
        drop(sender);
        assert_eq!(receiver.recv().await, None);
    }

    #[tokio::test]
    async fn a_waiting_display_is_woken_and_a_dropped_one_is_seen_as_closed() {
        let (sender, mut receiver) = frame_slot();
        let waiting = tokio::spawn(async move { receiver.recv().await });
        tokio::task::yield_now().await;
        sender.offer(frame(7, false), || unreachable!());
        assert_eq!(waiting.await.unwrap(), Some(frame(7, false)));
        assert!(sender.is_closed());
        assert_eq!(
            sender.offer(frame(8, false), || unreachable!()),
            Offered::Closed
        );
    }
}
