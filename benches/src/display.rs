//! One simulated wall display: subscribes to the office and measures, for every room in every
//! delta, the time from the sensor reading (`ts`, sensor clock = this machine's clock) to arrival.

use futures::{SinkExt, StreamExt};
use tally_protocol::{DisplayFrame, DisplayRequest, OfficeId, SUBPROTOCOL_JSON};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::{
    sensor::now_ms,
    stats::{Errors, Failure, Latency},
    ws::{self, HANDSHAKE_TIMEOUT, Ws},
};

/// A subscribed display connection that has received its first snapshot.
#[derive(Debug)]
pub(crate) struct DisplayConn {
    ws: Ws,
    version: u64,
}

/// What one display saw.
#[derive(Debug, Clone, Default)]
pub(crate) struct DisplayOutcome {
    /// Deltas received.
    pub(crate) deltas: u64,
    /// Room updates inside those deltas.
    pub(crate) room_updates: u64,
    /// Snapshots after the first one: the node conflated this display's queue (it fell behind)
    /// or saw a version gap.
    pub(crate) resnapshots: u64,
    /// Deltas whose version did not follow the previous frame's.
    pub(crate) version_gaps: u64,
    /// Sensor → display latency of every room update, in milliseconds.
    pub(crate) latency_ms: Latency,
    /// Errors by code.
    pub(crate) errors: Errors,
}

impl DisplayConn {
    /// Connects to `{ws_base}/v1/live?access_token=…` (JSON), subscribes to `office` and waits
    /// for the snapshot.
    ///
    /// # Errors
    /// The failure (see [`ws::connect`]; `error_<code>` when the node answered with an error
    /// frame, `close_<code>` when it closed).
    pub(crate) async fn connect(
        ws_base: &str,
        token: &str,
        office: &OfficeId,
    ) -> Result<Self, Failure> {
        let mut ws = ws::connect(
            &format!("{ws_base}/v1/live?access_token={token}"),
            SUBPROTOCOL_JSON,
        )
        .await?;
        let subscribe = DisplayRequest::Subscribe {
            office: office.clone(),
            room: None,
        };
        let text = serde_json::to_string(&subscribe).expect("requests always serialize");
        ws.send(Message::text(text))
            .await
            .map_err(|e| Failure::with_detail("send_failed", e.to_string()))?;
        let first = tokio::time::timeout(HANDSHAKE_TIMEOUT, next_frame(&mut ws))
            .await
            .map_err(|_| Failure::new("snapshot_timeout"))??;
        match first {
            DisplayFrame::Snapshot { version, .. } => Ok(Self { ws, version }),
            DisplayFrame::Error { code, message } => {
                Err(Failure::with_detail(format!("error_{code}"), message))
            }
            DisplayFrame::Delta { .. } => Err(Failure::new("expected_snapshot")),
        }
    }

    /// The office version of the last frame read.
    pub(crate) fn version(&self) -> u64 {
        self.version
    }

    /// Reads frames until one is at office version `version` or later; counts the frames (and
    /// bytes) before it.
    ///
    /// # Errors
    /// A close, an error frame, or nothing current within [`HANDSHAKE_TIMEOUT`].
    pub(crate) async fn read_until_version(&mut self, version: u64) -> Result<CatchUp, Failure> {
        let mut caught_up = CatchUp::default();
        let deadline = tokio::time::Instant::now() + HANDSHAKE_TIMEOUT;
        loop {
            let (frame, bytes) = tokio::time::timeout_at(deadline, next_frame_sized(&mut self.ws))
                .await
                .map_err(|_| Failure::new("not_current_in_time"))??;
            match frame {
                DisplayFrame::Snapshot { version: v, .. }
                | DisplayFrame::Delta { version: v, .. } => {
                    self.version = v;
                    if v >= version {
                        return Ok(caught_up);
                    }
                    caught_up.stale_frames += 1;
                    caught_up.stale_bytes += bytes;
                }
                DisplayFrame::Error { code, message } => {
                    return Err(Failure::with_detail(format!("error_{code}"), message));
                }
            }
        }
    }

    /// Receives frames until `stop` turns true, then closes.
    pub(crate) async fn run(mut self, mut stop: watch::Receiver<bool>) -> DisplayOutcome {
        let mut out = DisplayOutcome::default();
        loop {
            let frame = tokio::select! {
                _ = stop.wait_for(|stop| *stop) => break,
                frame = next_frame(&mut self.ws) => frame,
            };
            match frame {
                Ok(DisplayFrame::Delta { version, rooms, .. }) => {
                    let now = now_ms();
                    out.deltas += 1;
                    if version != self.version + 1 {
                        out.version_gaps += 1;
                    }
                    self.version = version;
                    for room in &rooms {
                        out.room_updates += 1;
                        out.latency_ms.record(now - room.ts);
                    }
                }
                Ok(DisplayFrame::Snapshot { version, .. }) => {
                    out.resnapshots += 1;
                    self.version = version;
                }
                Ok(DisplayFrame::Error { code, message }) => {
                    out.errors
                        .record(Failure::with_detail(code.as_str(), message));
                }
                Err(failure) => {
                    out.errors.record(failure);
                    break;
                }
            }
        }
        ws::close(self.ws).await;
        out
    }
}

/// Frames read by a resumed display before it was current.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CatchUp {
    /// Frames older than the version waited for.
    pub(crate) stale_frames: u64,
    /// Their bytes.
    pub(crate) stale_bytes: u64,
}

/// The next display frame, skipping pings; a close or an undecodable frame is a failure.
async fn next_frame(ws: &mut Ws) -> Result<DisplayFrame, Failure> {
    next_frame_sized(ws).await.map(|(frame, _)| frame)
}

/// The next display frame and its size in bytes, as [`next_frame`].
async fn next_frame_sized(ws: &mut Ws) -> Result<(DisplayFrame, u64), Failure> {
    loop {
        let (decoded, size) = match ws.next().await {
            Some(Ok(Message::Text(text))) => (serde_json::from_str(text.as_str()), text.len()),
            Some(Ok(Message::Binary(bytes))) => (serde_json::from_slice(&bytes), bytes.len()),
            Some(Ok(Message::Close(frame))) => return Err(ws::close_failure(frame.as_ref())),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(Failure::with_detail("connection_error", e.to_string())),
            None => return Err(Failure::new("connection_closed")),
        };
        return decoded
            .map(|frame| (frame, size as u64))
            .map_err(|e| Failure::with_detail("undecodable_display_frame", e.to_string()));
    }
}
