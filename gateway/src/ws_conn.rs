//! A WebSocket with a codec: send frames, read data frames, close with a tally error code.

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use bytes::Bytes;
use futures::SinkExt;
use serde::Serialize;
use tally_protocol::{Codec, ErrorCode};

/// Read buffer of a WebSocket connection. tungstenite zero-fills its read buffer up to this size
/// on every read attempt, so its 128 KiB default cost a quarter of the node's CPU with small
/// sensor frames (perf, 500 sensors × 40 frames/s) and 128 KiB of memory per connection; larger
/// frames are simply read in several chunks.
pub(crate) const READ_BUFFER_BYTES: usize = 8 * 1024;

/// The WebSocket close code "going away" (RFC 6455): the node is stopping.
const GOING_AWAY: u16 = 1001;

/// Longest close reason (the WebSocket limit is 123 bytes).
const MAX_CLOSE_REASON: usize = 120;

/// What the peer sent.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// A data frame (binary or text).
    Data(Bytes),
    /// The peer closed, or the connection failed.
    Closed,
}

/// What the peer sent, pongs included.
#[derive(Debug)]
pub(crate) enum Event {
    /// A data frame, or the end of the connection.
    Incoming(Incoming),
    /// A pong, with the payload of the ping it answers.
    Pong(Bytes),
}

/// A WebSocket speaking one codec.
#[derive(Debug)]
pub(crate) struct WsConn {
    socket: WebSocket,
    codec: Codec,
}

impl WsConn {
    /// Wraps an upgraded socket.
    pub(crate) fn new(socket: WebSocket, codec: Codec) -> Self {
        Self { socket, codec }
    }

    /// The connection's codec.
    pub(crate) fn codec(&self) -> Codec {
        self.codec
    }

    /// Sends a frame: binary for MessagePack, text for JSON.
    ///
    /// # Errors
    /// If the connection failed.
    pub(crate) async fn send<T: Serialize>(&mut self, frame: &T) -> Result<(), axum::Error> {
        let bytes = self.codec.encode(frame);
        let message = match self.codec {
            Codec::MsgPack => Message::Binary(bytes.into()),
            Codec::Json => Message::Text(String::from_utf8(bytes).unwrap_or_default().into()),
        };
        self.socket.send(message).await
    }

    /// Sends a ping; the peer answers with a pong carrying `payload` once it has read every
    /// frame sent before it.
    ///
    /// # Errors
    /// If the connection failed.
    pub(crate) async fn ping(&mut self, payload: Bytes) -> Result<(), axum::Error> {
        self.socket.send(Message::Ping(payload)).await
    }

    /// The next data frame, skipping pings and pongs.
    ///
    /// # Cancel safety
    /// Cancel safe: a frame is either returned or left in the socket.
    pub(crate) async fn recv(&mut self) -> Incoming {
        loop {
            if let Event::Incoming(incoming) = self.recv_event().await {
                return incoming;
            }
        }
    }

    /// The next data frame or pong, skipping pings (answered by the WebSocket layer).
    ///
    /// # Cancel safety
    /// Cancel safe: a frame is either returned or left in the socket.
    pub(crate) async fn recv_event(&mut self) -> Event {
        loop {
            let incoming = match self.socket.recv().await {
                Some(Ok(Message::Binary(bytes))) => Incoming::Data(bytes),
                Some(Ok(Message::Text(text))) => Incoming::Data(Bytes::from(text)),
                Some(Ok(Message::Pong(payload))) => return Event::Pong(payload),
                Some(Ok(Message::Ping(_))) => continue,
                Some(Ok(Message::Close(_))) => {
                    // The reply to the peer's close frame is queued; send it, so the peer sees
                    // a clean close instead of a dropped connection (1006).
                    let _ = self.socket.flush().await;
                    Incoming::Closed
                }
                Some(Err(_)) | None => Incoming::Closed,
            };
            return Event::Incoming(incoming);
        }
    }

    /// Closes with the code's WebSocket close code (4000 + HTTP status) and a reason.
    pub(crate) async fn close(&mut self, code: ErrorCode, reason: &str) {
        crate::telemetry::rejected(code);
        self.send_close(code.ws_close_code(), format!("{code}: {reason}"))
            .await;
    }

    /// Closes with 1001 (going away): the node is stopping.
    pub(crate) async fn close_going_away(&mut self, reason: &str) {
        self.send_close(GOING_AWAY, format!("going_away: {reason}"))
            .await;
    }

    async fn send_close(&mut self, code: u16, mut reason: String) {
        // The reason is at most 123 bytes: cut at a character boundary.
        let mut end = reason.len().min(MAX_CLOSE_REASON);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = self.socket.send(Message::Close(Some(frame))).await;
    }
}
