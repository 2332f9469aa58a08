//! How many frames a display may have in flight: the node pings after every frame it sends, and
//! sends the next frame only while fewer than `display.inflight_frames` pings are unanswered.
//!
//! A pong proves the display has read everything sent before its ping, so this bounds what sits
//! in socket buffers, the node's and the display's alike, whatever the kernel would buffer. While
//! the window is full the display's frame slot conflates every change into one fresh snapshot,
//! so a display that stalls and resumes reads at most the frames in flight, then the present.

use bytes::Bytes;

/// The frames sent to one display connection and the pongs that confirmed them.
#[derive(Debug)]
pub(crate) struct FrameWindow {
    limit: u64,
    /// Frames sent (each followed by a ping carrying this count).
    sent: u64,
    /// Highest count a pong has confirmed.
    confirmed: u64,
}

impl FrameWindow {
    /// A window of `limit` frames (at least 1).
    pub(crate) fn new(limit: u32) -> Self {
        Self {
            limit: u64::from(limit.max(1)),
            sent: 0,
            confirmed: 0,
        }
    }

    /// Whether another frame may be sent now.
    pub(crate) fn has_room(&self) -> bool {
        self.sent - self.confirmed < self.limit
    }

    /// Counts a frame as sent; returns the payload of the ping to send after it.
    pub(crate) fn sent(&mut self) -> Bytes {
        self.sent += 1;
        Bytes::copy_from_slice(&self.sent.to_be_bytes())
    }

    /// Takes a pong into account. A pong that answers no ping of ours (unsolicited, or from
    /// the future) is ignored.
    pub(crate) fn pong(&mut self, payload: &[u8]) {
        let Ok(bytes) = <[u8; 8]>::try_from(payload) else {
            return;
        };
        let count = u64::from_be_bytes(bytes);
        if count <= self.sent {
            self.confirmed = self.confirmed.max(count);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_of_one_waits_for_each_pong() {
        let mut window = FrameWindow::new(1);
        assert!(window.has_room());
        let first = window.sent();
        assert!(!window.has_room());
        window.pong(b"junk");
        window.pong(&99u64.to_be_bytes());
        assert!(
            !window.has_room(),
            "a pong to no ping of ours opened the window"
        );
        window.pong(&first);
        assert!(window.has_room());
    }

    #[test]
    fn a_late_pong_confirms_everything_before_it() {
        let mut window = FrameWindow::new(3);
        let pings: Vec<Bytes> = (0..3).map(|_| window.sent()).collect();
        assert!(!window.has_room());
        window.pong(&pings[2]);
        window.pong(&pings[0]);
        assert!(window.has_room());
        window.sent();
        window.sent();
        window.sent();
        assert!(!window.has_room());
    }
}
