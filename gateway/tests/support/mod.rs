//! Test harness: a real node (in-process on port 0, or the `tally` binary as a child process),
//! REST provisioning, and real WebSocket clients for sensors and displays.
#![allow(dead_code, unreachable_pub, missing_docs, unused_imports)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tally_config::Settings;
use tally_protocol::{
    Codec, DisplayFrame, DisplayRequest, OfficeId, Reading, RoomId, SensorFrame, ServerFrame,
};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub mod audit;
mod child;
pub mod cluster;
pub mod durability;
pub mod faults;
pub mod load;
pub mod outage;

pub use child::{ChildNode, postgres_env, scylla_env};

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";
pub const JWT_SECRET: &str = "test-jwt-secret-with-at-least-32-bytes!!";
/// How long a test waits for an expected event before failing (never a timing assertion).
pub const PATIENCE: Duration = Duration::from_secs(20);

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Settings for a test node in `data_dir` on a free port.
pub fn test_settings(data_dir: &Path) -> Settings {
    test_settings_with(data_dir, &[])
}

/// [`test_settings`] with more `TALLY_*` variables (e.g. [`postgres_env`]), which win.
pub fn test_settings_with(data_dir: &Path, extra: &[(String, String)]) -> Settings {
    let env = [
        ("TALLY_NODE__DATA_DIR", data_dir.display().to_string()),
        ("TALLY_NODE__HTTP_ADDR", "127.0.0.1:0".to_owned()),
        ("TALLY_AUTH__ADMIN_TOKEN", ADMIN_TOKEN.to_owned()),
        ("TALLY_AUTH__JWT_SECRET", JWT_SECRET.to_owned()),
        ("TALLY_DISPLAY__COALESCE_INTERVAL", "10ms".to_owned()),
    ]
    .map(|(k, v)| (k.to_owned(), v));
    let env = env.into_iter().chain(extra.iter().cloned());
    Settings::from_sources(None, env).expect("valid test settings")
}

/// An HTTP client for a node.
#[derive(Debug, Clone)]
pub struct Api {
    pub base: String,
    http: reqwest::Client,
}

impl Api {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
        }
    }

    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.try_request(method, path, token, body)
            .await
            .expect("request answered")
    }

    /// As [`Api::request`], but a request the node never answers (it was killed) is an error.
    pub async fn try_request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<(u16, Value), reqwest::Error> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.request(reqwest::Method::POST, path, Some(token), Some(body))
            .await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.request(reqwest::Method::PUT, path, Some(token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> (u16, Value) {
        self.request(reqwest::Method::DELETE, path, Some(token), None)
            .await
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.request(reqwest::Method::GET, path, Some(token), None)
            .await
    }

    /// Creates (as superadmin) and asserts 201.
    pub async fn create(&self, path: &str, body: Value) -> Value {
        let (status, answer) = self.post(path, ADMIN_TOKEN, body).await;
        assert_eq!(status, 201, "POST {path}: {answer}");
        answer
    }

    /// A tenant with one office, the given rooms (capacity 10), one sensor per room; returns the
    /// sensor keys in room order.
    pub async fn provision(&self, tenant: &str, office: &str, rooms: &[&str]) -> Vec<String> {
        self.create("/v1/tenants", json!({ "id": tenant, "name": tenant }))
            .await;
        self.create(
            &format!("/v1/tenants/{tenant}/offices"),
            json!({ "id": office }),
        )
        .await;
        let mut keys = Vec::new();
        for room in rooms {
            self.create(
                &format!("/v1/tenants/{tenant}/offices/{office}/rooms"),
                json!({ "id": room, "capacity": 10 }),
            )
            .await;
            let sensor = self
                .create(
                    &format!("/v1/tenants/{tenant}/offices/{office}/rooms/{room}/sensors"),
                    json!({ "id": format!("{room}-s") }),
                )
                .await;
            keys.push(sensor["key"].as_str().expect("key returned").to_owned());
        }
        keys
    }

    /// A viewer JWT of a tenant.
    pub async fn viewer_token(&self, tenant: &str) -> String {
        let minted = self
            .create(
                &format!("/v1/tenants/{tenant}/tokens"),
                json!({ "role": "viewer" }),
            )
            .await;
        minted["token"].as_str().unwrap().to_owned()
    }
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens a WebSocket with an optional subprotocol; returns the socket or the HTTP rejection
/// (status 0: no HTTP answer at all, such as a refused or reset connection to a dead node).
pub async fn open_ws(url: &str, subprotocol: Option<&str>) -> Result<Socket, (u16, String)> {
    open_ws_with(url, subprotocol, None).await
}

/// Like [`open_ws`], with the upgrade request's `x-request-id`.
pub async fn open_ws_with(
    url: &str,
    subprotocol: Option<&str>,
    request_id: Option<&str>,
) -> Result<Socket, (u16, String)> {
    let mut request = url.into_client_request().unwrap();
    if let Some(proto) = subprotocol {
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_str(proto).unwrap(),
        );
    }
    if let Some(id) = request_id {
        request
            .headers_mut()
            .insert("x-request-id", HeaderValue::from_str(id).unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let body = response
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            Err((response.status().as_u16(), body))
        }
        Err(other) => Err((0, format!("websocket connect failed: {other}"))),
    }
}

/// What a socket produced next.
#[derive(Debug)]
pub enum Next<T> {
    Frame(T),
    Closed(Option<CloseFrame>),
}

async fn next_message<T: serde::de::DeserializeOwned>(
    socket: &mut Socket,
    codec: Codec,
) -> Next<T> {
    loop {
        let message = tokio::time::timeout(PATIENCE, socket.next())
            .await
            .expect("no frame within the test's patience");
        match message {
            Some(Ok(Message::Binary(bytes))) => {
                return Next::Frame(
                    codec
                        .decode(&bytes, &Default::default())
                        .expect("server frame decodes"),
                );
            }
            Some(Ok(Message::Text(text))) => {
                return Next::Frame(
                    codec
                        .decode(text.as_bytes(), &Default::default())
                        .expect("server frame decodes"),
                );
            }
            Some(Ok(Message::Close(frame))) => return Next::Closed(frame),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return Next::Closed(None),
        }
    }
}

async fn send_frame<T: serde::Serialize>(socket: &mut Socket, codec: Codec, frame: &T) {
    let bytes = codec.encode(frame);
    let message = match codec {
        Codec::MsgPack => Message::Binary(bytes.into()),
        Codec::Json => Message::Text(String::from_utf8(bytes).unwrap().into()),
    };
    // A socket the node dropped (it exited) fails here; the next read reports it closed.
    let _ = socket.send(message).await;
}

/// A sensor connected and welcomed.
pub struct SensorClient {
    pub socket: Socket,
    pub codec: Codec,
    pub last_seq: u64,
}

impl SensorClient {
    /// Connects, says hello, and expects `welcome`.
    pub async fn connect(addr: SocketAddr, key: &str, codec: Codec) -> Self {
        match Self::try_connect(addr, key, codec).await {
            Ok(sensor) => sensor,
            Err(other) => panic!("expected welcome, got {other:?}"),
        }
    }

    /// Connects and says hello: the welcomed sensor, or what the node answered instead (a
    /// close, or an error frame).
    pub async fn try_connect(
        addr: SocketAddr,
        key: &str,
        codec: Codec,
    ) -> Result<Self, Next<ServerFrame>> {
        let mut socket = open_ws(
            &format!("ws://{addr}/v1/sensors/connect"),
            Some(codec.subprotocol()),
        )
        .await
        .map_err(|(status, body)| {
            Next::Frame(ServerFrame::Error {
                code: tally_protocol::ErrorCode::for_http_status(status),
                message: body,
                seq: None,
            })
        })?;
        send_frame(
            &mut socket,
            codec,
            &SensorFrame::Hello {
                key: key.to_owned(),
            },
        )
        .await;
        match next_message::<ServerFrame>(&mut socket, codec).await {
            Next::Frame(ServerFrame::Welcome { last_seq, .. }) => Ok(Self {
                socket,
                codec,
                last_seq,
            }),
            other => Err(other),
        }
    }

    pub async fn send(&mut self, items: Vec<Reading>) {
        send_frame(
            &mut self.socket,
            self.codec,
            &SensorFrame::Readings { items },
        )
        .await;
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.socket.send(message).await.expect("raw frame sent");
    }

    pub async fn next(&mut self) -> Next<ServerFrame> {
        next_message(&mut self.socket, self.codec).await
    }

    /// Sends readings and waits for the ack that covers them.
    pub async fn send_and_ack(&mut self, items: Vec<Reading>) -> u64 {
        let want = items.iter().map(|r| r.seq).max().unwrap();
        self.send(items).await;
        match self.next().await {
            Next::Frame(ServerFrame::Ack { up_to_seq }) => {
                assert!(up_to_seq >= want, "ack {up_to_seq} does not cover {want}");
                up_to_seq
            }
            other => panic!("expected ack, got {other:?}"),
        }
    }

    /// Sends one reading with the next seq and waits for its ack.
    pub async fn count(&mut self, count: i64) -> u64 {
        self.last_seq += 1;
        let seq = self.last_seq;
        self.send_and_ack(vec![Reading {
            seq,
            ts: now_ms(),
            count,
        }])
        .await
    }
}

/// A display connected with a token.
pub struct DisplayClient {
    pub socket: Socket,
    pub codec: Codec,
}

impl DisplayClient {
    pub async fn connect(addr: SocketAddr, token: &str) -> Self {
        let socket = open_ws(
            &format!("ws://{addr}/v1/live?access_token={token}"),
            Some("tally.v1.json"),
        )
        .await
        .expect("display upgrade");
        Self {
            socket,
            codec: Codec::Json,
        }
    }

    pub async fn subscribe(&mut self, office: &str, room: Option<&str>) {
        let request = DisplayRequest::Subscribe {
            office: OfficeId::new(office).unwrap(),
            room: room.map(|r| RoomId::new(r).unwrap()),
        };
        send_frame(&mut self.socket, self.codec, &request).await;
    }

    pub async fn next(&mut self) -> Next<DisplayFrame> {
        next_message(&mut self.socket, self.codec).await
    }

    /// Frames until one satisfies `done`; returns that frame.
    pub async fn until(&mut self, mut done: impl FnMut(&DisplayFrame) -> bool) -> DisplayFrame {
        loop {
            match self.next().await {
                Next::Frame(frame) if done(&frame) => return frame,
                Next::Frame(_) => {}
                Next::Closed(frame) => panic!("display closed: {frame:?}"),
            }
        }
    }
}

/// The count of `room` in a snapshot or delta, if it names the room.
pub fn room_count(frame: &DisplayFrame, room: &str) -> Option<u32> {
    let rooms = match frame {
        DisplayFrame::Snapshot { rooms, .. } | DisplayFrame::Delta { rooms, .. } => rooms,
        DisplayFrame::Error { .. } => return None,
    };
    rooms
        .iter()
        .find(|r| r.room.as_str() == room)
        .map(|r| r.count)
}

/// The office total of a snapshot or delta.
pub fn total(frame: &DisplayFrame) -> Option<u64> {
    match frame {
        DisplayFrame::Snapshot { total, .. } | DisplayFrame::Delta { total, .. } => Some(*total),
        DisplayFrame::Error { .. } => None,
    }
}

/// Asserts a close frame with this code.
pub fn assert_closed_with(next: Next<impl std::fmt::Debug>, code: u16) -> String {
    match next {
        Next::Closed(Some(frame)) => {
            assert_eq!(
                u16::from(frame.code),
                code,
                "close reason: {}",
                frame.reason
            );
            frame.reason.to_string()
        }
        other => panic!("expected close {code}, got {other:?}"),
    }
}

/// A fresh temporary directory.
pub fn temp_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    (dir, path)
}

/// Stops an in-process node and fails if any of its actors outlived it (a leak).
pub async fn stop_checked(node: tally_gateway::RunningNode) {
    let actors = node.node().actors().clone();
    node.stop().await;
    assert_eq!(
        actors.live_actors(),
        0,
        "actors still alive after the node stopped"
    );
}
