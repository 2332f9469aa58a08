//! Displays that keep reading in the background while a test moves offices around: each counts
//! the snapshots it was sent (a fresh one after every resubscription) and keeps the room
//! counts it last saw, so that a test can await a count and check how often it resubscribed.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use futures::StreamExt;
use tally_protocol::{Codec, DisplayFrame};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use super::super::{DisplayClient, PATIENCE};

/// What a [`WatchedDisplay`] has seen so far.
#[derive(Debug, Clone, Default)]
pub struct DisplaySeen {
    /// Snapshots received: the first one, then one per resubscription.
    pub snapshots: usize,
    /// Each room's count in the last frame that named it.
    pub counts: BTreeMap<String, u32>,
    /// Why the display ended, if it did: a close, an error frame or a broken socket.
    pub ended: Option<String>,
}

/// A display subscribed to one office, read by a background task.
pub struct WatchedDisplay {
    seen: watch::Receiver<DisplaySeen>,
    task: JoinHandle<()>,
}

impl WatchedDisplay {
    /// Connects to `addr` with `token`, subscribes to `office` and waits for its snapshot.
    pub async fn subscribe(addr: SocketAddr, token: &str, office: &str) -> Self {
        let mut display = DisplayClient::connect(addr, token).await;
        display.subscribe(office, None).await;
        let (sender, seen) = watch::channel(DisplaySeen::default());
        let task = tokio::spawn(read(display, sender));
        let watched = Self { seen, task };
        watched
            .await_seen("the first snapshot", |seen| seen.snapshots >= 1)
            .await;
        watched
    }

    /// What it has seen so far.
    pub fn seen(&self) -> DisplaySeen {
        self.seen.borrow().clone()
    }

    /// Waits until `room` shows `count`.
    ///
    /// # Panics
    /// If the display ended, or not within the test's patience.
    pub async fn await_count(&self, room: &str, count: u32) {
        self.await_seen(&format!("{room} at {count}"), |seen| {
            seen.counts.get(room) == Some(&count)
        })
        .await;
    }

    async fn await_seen(&self, what: &str, mut done: impl FnMut(&DisplaySeen) -> bool) {
        let mut seen = self.seen.clone();
        let in_time = tokio::time::timeout(
            PATIENCE,
            seen.wait_for(|seen| seen.ended.is_some() || done(seen)),
        )
        .await
        .is_ok();
        let last = self.seen();
        assert!(in_time, "display: no {what} within {PATIENCE:?}: {last:?}");
        assert!(
            last.ended.is_none(),
            "display ended before {what}: {last:?}"
        );
    }
}

impl Drop for WatchedDisplay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads frames until the display ends, publishing what it saw.
async fn read(mut display: DisplayClient, seen: watch::Sender<DisplaySeen>) {
    while let Some(message) = display.socket.next().await {
        let bytes = match message {
            Ok(Message::Text(text)) => text.as_bytes().to_vec(),
            Ok(Message::Binary(bytes)) => bytes.to_vec(),
            Ok(Message::Close(frame)) => {
                seen.send_modify(|seen| seen.ended = Some(format!("closed: {frame:?}")));
                return;
            }
            Ok(_) => continue,
            Err(err) => {
                seen.send_modify(|seen| seen.ended = Some(format!("broken: {err}")));
                return;
            }
        };
        let frame: DisplayFrame = Codec::Json
            .decode(&bytes, &Default::default())
            .expect("a display frame decodes");
        seen.send_modify(|seen| match frame {
            DisplayFrame::Snapshot { rooms, .. } => {
                seen.snapshots += 1;
                seen.counts = rooms
                    .iter()
                    .map(|room| (room.room.to_string(), room.count))
                    .collect();
            }
            DisplayFrame::Delta { rooms, .. } => {
                for room in rooms {
                    seen.counts.insert(room.room.to_string(), room.count);
                }
            }
            DisplayFrame::Error { code, message } => {
                seen.ended = Some(format!("error frame {code:?}: {message}"));
            }
        });
    }
    seen.send_modify(|seen| seen.ended = Some("socket ended".into()));
}
