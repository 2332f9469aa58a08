//! One simulated sensor: `hello`, then `Readings` frames at a fixed rate within the node's
//! in-flight window, measuring the time from sending a frame to the `Ack` that covers it.

use std::{
    collections::VecDeque,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use futures::{SinkExt, StreamExt};
use tally_protocol::{Codec, Limits, Reading, SensorFrame, ServerFrame, TimestampMs};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::{self, Message};

use crate::{
    stats::{Errors, Failure, Latency},
    ws::{self, HANDSHAKE_TIMEOUT, Ws},
};

/// How long a sensor waits for outstanding acks after it stopped sending.
const DRAIN: Duration = Duration::from_secs(5);

/// An authenticated sensor connection, ready to send.
#[derive(Debug)]
pub(crate) struct SensorConn {
    ws: Ws,
    codec: Codec,
    /// Next seq to send.
    next_seq: u64,
    /// Readings the node lets this connection have unacknowledged.
    window: u64,
}

/// When a sensor sends.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Schedule {
    /// First frame.
    pub(crate) first: Instant,
    /// Time between frames.
    pub(crate) period: Duration,
    /// No frame is sent at or after this instant.
    pub(crate) stop: Instant,
    /// Readings per frame.
    pub(crate) batch: u32,
}

/// What one sensor did.
#[derive(Debug, Clone, Default)]
pub(crate) struct SensorOutcome {
    /// Frames sent.
    pub(crate) frames_sent: u64,
    /// Readings sent.
    pub(crate) readings_sent: u64,
    /// Readings covered by an `Ack`.
    pub(crate) readings_acked: u64,
    /// Readings of frames the node answered with an `Error` naming one of their seqs.
    pub(crate) readings_rejected: u64,
    /// Readings neither acknowledged nor rejected when the sensor stopped.
    pub(crate) readings_unacked: u64,
    /// Send instants skipped because the in-flight window was full.
    pub(crate) window_full: u64,
    /// Whether the connection failed before the schedule's stop.
    pub(crate) ended_early: bool,
    /// Send → ack latency of every acknowledged frame, in microseconds.
    pub(crate) ack_latency_us: Latency,
    /// Errors by code.
    pub(crate) errors: Errors,
    /// When the last ack arrived.
    pub(crate) last_ack: Option<Instant>,
}

/// A frame sent and not yet acknowledged.
#[derive(Debug, Clone, Copy)]
struct Pending {
    first_seq: u64,
    last_seq: u64,
    sent: Instant,
}

impl Pending {
    fn readings(&self) -> u64 {
        self.last_seq - self.first_seq + 1
    }
}

/// The frames of a connection that await their ack, oldest first.
#[derive(Debug, Default)]
struct Inflight {
    frames: VecDeque<Pending>,
    /// Readings in `frames`.
    readings: u64,
}

impl Inflight {
    fn push(&mut self, first_seq: u64, last_seq: u64, sent: Instant) {
        let frame = Pending {
            first_seq,
            last_seq,
            sent,
        };
        self.readings += frame.readings();
        self.frames.push_back(frame);
    }

    /// Settles every frame that `up_to_seq` covers, recording its latency in microseconds;
    /// returns the readings acknowledged.
    fn ack(&mut self, up_to_seq: u64, now: Instant, latency_us: &mut Latency) -> u64 {
        let mut acked = 0;
        while let Some(frame) = self.frames.front().filter(|f| f.last_seq <= up_to_seq) {
            let micros = now.duration_since(frame.sent).as_micros();
            latency_us.record(i64::try_from(micros).unwrap_or(i64::MAX));
            acked += frame.readings();
            self.frames.pop_front();
        }
        self.readings -= acked;
        acked
    }

    /// Drops the frame holding `seq`, if any; returns its readings.
    fn reject(&mut self, seq: Option<u64>) -> u64 {
        let Some(seq) = seq else { return 0 };
        let position = self
            .frames
            .iter()
            .position(|f| (f.first_seq..=f.last_seq).contains(&seq));
        let rejected = position
            .and_then(|i| self.frames.remove(i))
            .map_or(0, |f| f.readings());
        self.readings -= rejected;
        rejected
    }

    fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }
}

/// What a received WebSocket message means to a sensor.
#[derive(Debug)]
enum Incoming {
    /// A server frame.
    Frame(ServerFrame),
    /// A ping, pong or other control message.
    Ignore,
    /// A message that is not a server frame; the connection goes on.
    Undecodable(Failure),
    /// The connection is over.
    End(Failure),
}

impl Incoming {
    fn of(codec: Codec, message: Option<Result<Message, tungstenite::Error>>) -> Self {
        let decoded = match message {
            Some(Ok(Message::Binary(bytes))) => codec.decode(&bytes, &Limits::default()),
            Some(Ok(Message::Text(text))) => codec.decode(text.as_bytes(), &Limits::default()),
            Some(Ok(Message::Close(frame))) => return Self::End(ws::close_failure(frame.as_ref())),
            Some(Ok(_)) => return Self::Ignore,
            Some(Err(e)) => {
                return Self::End(Failure::with_detail("connection_error", e.to_string()));
            }
            None => return Self::End(Failure::new("connection_closed")),
        };
        match decoded {
            Ok(frame) => Self::Frame(frame),
            Err(e) => Self::Undecodable(Failure::with_detail(
                "undecodable_server_frame",
                e.to_string(),
            )),
        }
    }
}

impl SensorConn {
    /// Connects to `{ws_base}/v1/sensors/connect`, sends `hello` and waits for `welcome`.
    ///
    /// # Errors
    /// The failure (see [`ws::connect`]; `error_<code>` when the node answered `hello` with an
    /// error frame, `close_<code>` when it closed).
    pub(crate) async fn connect(ws_base: &str, codec: Codec, key: &str) -> Result<Self, Failure> {
        let mut ws = ws::connect(
            &format!("{ws_base}/v1/sensors/connect"),
            codec.subprotocol(),
        )
        .await?;
        let hello = encode(
            codec,
            &SensorFrame::Hello {
                key: key.to_owned(),
            },
        );
        ws.send(hello)
            .await
            .map_err(|e| Failure::with_detail("send_failed", e.to_string()))?;
        let welcome = tokio::time::timeout(HANDSHAKE_TIMEOUT, next_frame(&mut ws, codec))
            .await
            .map_err(|_| Failure::new("welcome_timeout"))??;
        match welcome {
            ServerFrame::Welcome {
                last_seq,
                inflight_window,
                ..
            } => Ok(Self {
                ws,
                codec,
                next_seq: last_seq + 1,
                window: u64::from(inflight_window),
            }),
            ServerFrame::Error { code, message, .. } => {
                Err(Failure::with_detail(format!("error_{code}"), message))
            }
            ServerFrame::Ack { .. } => Err(Failure::new("expected_welcome")),
        }
    }

    /// Sends on `schedule` until `schedule.stop`, then waits up to [`DRAIN`] for the last acks,
    /// and closes.
    pub(crate) async fn run(mut self, schedule: Schedule) -> SensorOutcome {
        let mut out = SensorOutcome::default();
        let batch = u64::from(schedule.batch);
        if batch > self.window {
            out.errors.add("batch_over_inflight_window");
            ws::close(self.ws).await;
            return out;
        }
        let mut ticker = tokio::time::interval_at(schedule.first, schedule.period);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let deadline = tokio::time::sleep_until(schedule.stop);
        tokio::pin!(deadline);
        let mut inflight = Inflight::default();
        let mut sending = true;
        let mut frame_no = 0u64;
        loop {
            // Biased: the deadline wins over a tick due at the same instant.
            tokio::select! {
                biased;
                () = &mut deadline => {
                    if !sending || inflight.is_empty() {
                        sending = false;
                        break;
                    }
                    sending = false;
                    deadline.as_mut().reset(Instant::now() + DRAIN);
                }
                _ = ticker.tick(), if sending => {
                    if inflight.readings + batch > self.window {
                        out.window_full += 1;
                        continue;
                    }
                    let first_seq = self.next_seq;
                    let items = readings(first_seq, batch, frame_no, now_ms());
                    let message = encode(self.codec, &SensorFrame::Readings { items });
                    if let Err(e) = self.ws.send(message).await {
                        out.errors.record(Failure::with_detail("send_failed", e.to_string()));
                        break;
                    }
                    self.next_seq += batch;
                    frame_no += 1;
                    inflight.push(first_seq, self.next_seq - 1, Instant::now());
                    out.frames_sent += 1;
                    out.readings_sent += batch;
                }
                message = self.ws.next() => {
                    match Incoming::of(self.codec, message) {
                        Incoming::Frame(ServerFrame::Ack { up_to_seq }) => {
                            let now = Instant::now();
                            out.last_ack = Some(now);
                            out.readings_acked += inflight.ack(up_to_seq, now, &mut out.ack_latency_us);
                        }
                        Incoming::Frame(ServerFrame::Error { code, message, seq }) => {
                            out.errors.record(Failure::with_detail(code.as_str(), message));
                            out.readings_rejected += inflight.reject(seq);
                        }
                        Incoming::Frame(ServerFrame::Welcome { .. }) => out.errors.add("unexpected_welcome"),
                        Incoming::Ignore => {}
                        Incoming::Undecodable(failure) => out.errors.record(failure),
                        Incoming::End(failure) => {
                            out.errors.record(failure);
                            break;
                        }
                    }
                    if !sending && inflight.is_empty() {
                        break;
                    }
                }
            }
        }
        out.readings_unacked = inflight.readings;
        out.ended_early = sending;
        ws::close(self.ws).await;
        out
    }
}

/// `batch` readings from `first_seq`, all at `ts`. Counts differ from one reading to the next
/// and the last count of a frame differs from the previous frame's, so every reading moves the
/// room's count (and every frame makes a display delta).
fn readings(first_seq: u64, batch: u64, frame_no: u64, ts: TimestampMs) -> Vec<Reading> {
    let base = 2 * (frame_no % 2);
    (0..batch)
        .map(|j| Reading {
            seq: first_seq + j,
            ts,
            count: i64::try_from(base + j % 2).unwrap_or(0),
        })
        .collect()
}

/// A frame as a WebSocket message of the codec's kind (binary MessagePack, text JSON).
fn encode(codec: Codec, frame: &SensorFrame) -> Message {
    let bytes = codec.encode(frame);
    match codec {
        Codec::MsgPack => Message::binary(bytes),
        Codec::Json => Message::text(String::from_utf8(bytes).expect("JSON is UTF-8")),
    }
}

/// The next server frame, skipping control messages.
async fn next_frame(ws: &mut Ws, codec: Codec) -> Result<ServerFrame, Failure> {
    loop {
        match Incoming::of(codec, ws.next().await) {
            Incoming::Frame(frame) => return Ok(frame),
            Incoming::Ignore => {}
            Incoming::Undecodable(failure) | Incoming::End(failure) => return Err(failure),
        }
    }
}

/// The wall clock in milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> TimestampMs {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inflight_settles_covered_frames_and_rejected_ones() {
        let t0 = Instant::now();
        let mut inflight = Inflight::default();
        inflight.push(1, 1, t0);
        inflight.push(2, 11, t0);
        inflight.push(12, 21, t0);
        assert_eq!(inflight.readings, 21);
        let mut latency = Latency::new();
        assert_eq!(
            inflight.ack(5, t0 + Duration::from_millis(2), &mut latency),
            1
        );
        assert_eq!(inflight.reject(Some(15)), 10);
        assert_eq!(inflight.reject(None), 0);
        assert_eq!(
            inflight.ack(11, t0 + Duration::from_millis(3), &mut latency),
            10
        );
        assert!(inflight.is_empty());
        assert_eq!(inflight.readings, 0);
        assert_eq!(latency.summary(1000.0).count, 2);
    }

    #[test]
    fn every_reading_moves_the_count() {
        for batch in [1, 2, 3, 50] {
            let mut last = None;
            for frame_no in 0..4 {
                let items = readings(frame_no * batch + 1, batch, frame_no, 0);
                assert_eq!(items.len() as u64, batch);
                for r in &items {
                    assert_ne!(Some(r.count), last, "batch {batch} frame {frame_no}");
                    last = Some(r.count);
                }
            }
        }
    }
}
