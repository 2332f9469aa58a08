//! `GET /v1/sensors/connect`: a sensor's WebSocket.
//!
//! 1. The sensor sends `hello` with its key within `ingest.hello_timeout`; the gateway resolves
//!    the key (hashed) to its room once and caches the room actor.
//! 2. It answers `welcome` with the last durable seq, then reads `readings` frames while fewer
//!    than `ingest.inflight_window` readings are unacknowledged (beyond that it stops reading
//!    the socket and TCP pushes back), and answers `ack` once each batch is durable, in order.
//! 3. A bad frame gets an `error` frame and the connection goes on. If the room becomes
//!    unavailable the connection closes with 4503: the sensor reconnects and resends what comes
//!    after `welcome.last_seq` (dedup makes that exactly-once). Closing, rather than retrying in
//!    the gateway, keeps every sensor's batches strictly in seq order.
//! 4. While the node's store does not take writes (its storage health is degraded or failed),
//!    a `readings` frame is not sent to the room: the connection closes with 4503 `unavailable`
//!    (acks still owed for earlier frames are not waited for; the sensor resends after
//!    `welcome.last_seq`), and a new connection is closed with 4503 right after its `hello`.
//!    Readings never pile up in the actors while they cannot be written.
//! 5. When its key stops being valid (revoked, expired after a rotation, its sensor deleted),
//!    the connection sends the acks it owes and closes with 4401 `unknown_sensor_key`: at once
//!    for a change made on this node, within `auth.revocation_refresh` for one made on another
//!    node (see `sensor_key.rs`).
//! 6. Traces: the connection's `sensor` span (a child of the upgrade request's `traceparent`)
//!    lives as long as the socket; each `readings` frame gets an `ingest.sensor_frame` span from
//!    its arrival to its ack, the root of a trace of its own linked to the connection's span, so
//!    that a sensor connected for weeks gives one trace per batch.
//! 7. A refused key is audited with the upgrade request's id and source address: an unknown
//!    key in `hello` in the platform's log (it names no tenant), a key that stops being valid
//!    while the socket is open in its sensor's tenant's log.

use std::sync::Arc;
use std::time::Instant;

use axum::Extension;
use axum::extract::State;
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesOrdered;
use tally_cluster::{RoomHandle, TraceContext};
use tally_protocol::{
    Codec, ErrorCode, ProtocolError, Reading, SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK, SensorFrame,
    ServerFrame, ServiceError, now_ms,
};
use tally_storage::{KeyHash, Sensor, key_id};
use tracing::{Instrument, Span};

use super::admission::{Admitted, InflightWindow, dispatch};
use super::sensor_key::{KEY_NO_LONGER_VALID, key_revoked, next_change_of, sensor_by_key};
use crate::audit::{RequestAudit, request_context};
use crate::auth::hash_key;
use crate::error::ApiError;
use crate::listener::ConnectionSlot;
use crate::state::AppState;
use crate::telemetry;
use crate::trace_parent;
use crate::ws_conn::{Incoming, WsConn};

/// Upgrades a sensor connection; the subprotocol picks the codec.
#[utoipa::path(
    get,
    path = "/v1/sensors/connect",
    tag = "sensors",
    summary = "A sensor's WebSocket",
    description = "A WebSocket with subprotocol `tally.v1.msgpack` (or `tally.v1.json` for \
        debugging). The sensor sends `SensorFrame`s: first `hello` with its sensor key (within \
        `ingest.hello_timeout`), then `readings`; the node answers `ServerFrame`s: `welcome` \
        with the last durable seq, `ack` once a batch is durable (in order), `error` for a bad \
        frame. Closes with 4000 + the HTTP status of the error (e.g. 4401 for an unknown key, \
        4503 when the node cannot take readings: reconnect and resend after `welcome.last_seq`).",
    responses(
        (status = 101, description = "Switching Protocols: the WebSocket is open; frames are `SensorFrame` (to the node) and `ServerFrame` (to the sensor)"),
        crate::openapi::SensorSocketErrors,
    )
)]
pub(crate) async fn connect(
    State(state): State<AppState>,
    slot: Option<Extension<ConnectionSlot>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    // The upgrade request's trace context becomes the parent of the connection's span, and its
    // audit context (request id, source address) that of the refusals made on the socket.
    let trace = trace_parent::from_headers(&headers);
    let audit = request_context();
    let ws = ws.protocols([SUBPROTOCOL_MSGPACK, SUBPROTOCOL_JSON]);
    let Some(codec) = ws
        .selected_protocol()
        .and_then(|p| p.to_str().ok())
        .and_then(Codec::from_subprotocol)
    else {
        telemetry::rejected(ErrorCode::UnsupportedSubprotocol);
        let message = format!(
            "request the WebSocket subprotocol {SUBPROTOCOL_MSGPACK} or {SUBPROTOCOL_JSON}"
        );
        return ApiError::new(ErrorCode::UnsupportedSubprotocol, message).into_response();
    };
    // The transport accepts more than the frame limit so that an oversized frame gets a clear
    // `frame_too_large` error from the codec instead of a dropped connection.
    let transport_limit = (state.limits.max_frame_bytes * 4).max(1 << 20);
    ws.max_message_size(transport_limit)
        .max_frame_size(transport_limit)
        .read_buffer_size(crate::ws_conn::READ_BUFFER_BYTES)
        .on_upgrade(move |socket| {
            let shutdown = state.shutdown.clone();
            shutdown.track(async move {
                // The connection keeps its place in the node's limits while the socket is open.
                let _slot = slot;
                run(state, socket, codec, trace, audit).await;
            })
        })
}

async fn run(
    state: AppState,
    socket: WebSocket,
    codec: Codec,
    trace: Option<TraceContext>,
    audit: Option<Arc<RequestAudit>>,
) {
    let _gauge = telemetry::ConnectionGauge::open(telemetry::SENSOR_CONNECTIONS);
    let mut conn = WsConn::new(socket, codec);
    let said_hello = tokio::select! {
        said = hello(&state, &mut conn) => said,
        () = state.shutdown.stopping() => return conn.close_going_away(STOPPING).await,
    };
    let (sensor, key) = match said_hello {
        Ok(found) => found,
        Err((err, refused_key)) => {
            if let Some(hash) = refused_key.filter(|_| err.code == ErrorCode::UnknownSensorKey) {
                // An unknown key belongs to no tenant we could name: the platform's log.
                let detail = format!(
                    "{ROUTE}: hello with unknown sensor key {}; closed {}",
                    key_id(&hash),
                    err.code.ws_close_code()
                );
                state.audit.denied(audit.as_deref(), None, detail);
            }
            return conn.close(err.code, &err.message).await;
        }
    };
    if let Some(context) = &audit {
        let name = format!("sensor {} key {}", sensor.id, key_id(&key));
        context.note(Some(sensor.tenant.clone()), name);
    }
    // The socket counts against its tenant's connection quota while it is open.
    let _tenant_slot = match state.quotas.open_connection(&sensor.tenant) {
        Ok(slot) => slot,
        Err(err) => return conn.close(err.code, &err.message).await,
    };
    let span = tracing::info_span!("sensor", tenant = %sensor.tenant, office = %sensor.office, room = %sensor.room, sensor = %sensor.id);
    trace_parent::adopt(trace.as_ref(), &span);
    session(state, conn, sensor, key, audit)
        .instrument(span)
        .await;
}

/// The route template of the socket, as audit entries name it.
const ROUTE: &str = "GET /v1/sensors/connect";

/// Waits for `hello` and resolves the key to its sensor; returns both (the key as its hash). A
/// refusal comes with the hash of the key refused, if `hello` named one.
async fn hello(
    state: &AppState,
    conn: &mut WsConn,
) -> Result<(Sensor, KeyHash), (ApiError, Option<KeyHash>)> {
    let timeout = state.settings.ingest.hello_timeout;
    let bytes = match tokio::time::timeout(timeout, conn.recv()).await {
        Err(_) => {
            let message = format!("no hello within {timeout:?}");
            return Err((ApiError::new(ErrorCode::HelloTimeout, message), None));
        }
        Ok(Incoming::Closed) => {
            let closed = ApiError::new(ErrorCode::ExpectedHello, "closed before hello");
            return Err((closed, None));
        }
        Ok(Incoming::Data(bytes)) => bytes,
    };
    match conn_codec_decode(state, conn, &bytes).map_err(|err| (err.into(), None))? {
        SensorFrame::Hello { key } => {
            let hash = hash_key(&key);
            match sensor_by_key(state, &key).await {
                Ok(sensor) => Ok((sensor, hash)),
                Err(err) => Err((err, Some(hash))),
            }
        }
        SensorFrame::Readings { .. } => {
            let first = ApiError::new(ErrorCode::ExpectedHello, "the first frame must be hello");
            Err((first, None))
        }
    }
}

fn conn_codec_decode(
    state: &AppState,
    conn: &WsConn,
    bytes: &[u8],
) -> Result<SensorFrame, ProtocolError> {
    conn.codec()
        .decode_sensor_frame(bytes, &state.limits, now_ms())
}

/// Close reason of a sensor connection when the node stops.
const STOPPING: &str = "the node is stopping; reconnect and resend readings after the last ack";

/// What one in-flight batch resolves to: its size, when it arrived, and the ack (or error).
type Answer = (usize, Instant, Result<u64, ServiceError>);

/// One in-flight batch.
type PendingAck = BoxFuture<'static, Answer>;

/// A decoded batch waiting for node-wide admission (`ingest.node_inflight`).
type Admission = BoxFuture<'static, Admitted>;

/// A decoded `readings` frame waiting for admission, with its span.
type Admitting = (Vec<Reading>, Admission, Span);

async fn session(
    state: AppState,
    mut conn: WsConn,
    sensor: Sensor,
    key: KeyHash,
    audit: Option<Arc<RequestAudit>>,
) {
    // Subscribed before the first read, so a revocation from here on is never missed.
    let mut key_changes = state.sensor_keys.subscribe();
    let period = state.revocations.refresh();
    let mut key_recheck = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    let resolved = state
        .router
        .room(&sensor.tenant, &sensor.office, &sensor.room)
        .await;
    let room = match resolved {
        Ok(room) => room,
        Err(err) => return conn.close(err.code(), &err.to_string()).await,
    };
    let last_seq = match room.last_durable_seq(&sensor.id).await {
        Ok(seq) => seq,
        Err(err) => return conn.close(err.code(), &err.to_string()).await,
    };
    let mut window = InflightWindow::new(state.settings.ingest.inflight_window);
    let welcome = ServerFrame::Welcome {
        tenant: sensor.tenant.clone(),
        office: sensor.office.clone(),
        room: sensor.room.clone(),
        sensor: sensor.id.clone(),
        last_seq,
        inflight_window: state.settings.ingest.inflight_window,
    };
    if conn.send(&welcome).await.is_err() {
        return;
    }
    tracing::debug!(last_seq, "sensor connected");
    let mut pending: FuturesOrdered<PendingAck> = FuturesOrdered::new();
    let mut admitting: Option<Admitting> = None;
    let ack_seconds = metrics::histogram!(telemetry::ACK_SECONDS);
    loop {
        tokio::select! {
            biased;
            Some(answer) = pending.next(), if !pending.is_empty() => {
                if !deliver(&mut conn, &mut window, &ack_seconds, answer).await {
                    return;
                }
            }
            () = state.shutdown.stopping() => {
                // Every batch sent to its room gets its ack first; a frame still waiting for
                // admission was not sent, and is resent after the last ack.
                if drain(&mut conn, &mut window, &ack_seconds, &mut pending).await {
                    conn.close_going_away(STOPPING).await;
                }
                return;
            }
            admitted = async { admitting.as_mut().expect("guarded").1.as_mut().await }, if admitting.is_some() => {
                let (items, _, frame) = admitting.take().expect("guarded");
                if let Err(err) = state.health.check() {
                    let reason = format!("{err}; nothing of this frame was applied; reconnect and resend readings after welcome.last_seq");
                    return conn.close(err.code(), &reason).await;
                }
                window.sent(items.len());
                match frame.in_scope(|| send(&room, &sensor, items, admitted)) {
                    Ok(ack) => pending.push_back(Box::pin(ack.instrument(frame))),
                    Err(err) => return conn.close(err.code(), &format!("{err}; reconnect")).await,
                }
            }
            () = async {
                tokio::select! {
                    () = next_change_of(&mut key_changes, &sensor) => {}
                    _ = key_recheck.tick() => {}
                }
            } => {
                if key_revoked(&state, &sensor, &key).await {
                    tracing::info!("sensor key no longer valid; closing");
                    let detail = format!(
                        "{ROUTE}: key no longer valid while the socket was open; closed {}",
                        ErrorCode::UnknownSensorKey.ws_close_code()
                    );
                    state.audit.denied(audit.as_deref(), Some(&sensor.tenant), detail);
                    if drain(&mut conn, &mut window, &ack_seconds, &mut pending).await {
                        conn.close(ErrorCode::UnknownSensorKey, KEY_NO_LONGER_VALID).await;
                    }
                    return;
                }
            }
            err = room.retired() => {
                return conn.close(err.code(), &format!("{err}: the tenant is being erased")).await;
            }
            incoming = conn.recv(), if admitting.is_none() && window.is_open() => {
                let bytes = match incoming {
                    Incoming::Data(bytes) => bytes,
                    Incoming::Closed => return,
                };
                let rejected = match conn_codec_decode(&state, &conn, &bytes) {
                    Ok(SensorFrame::Readings { items }) => {
                        if let Err(err) = state.quotas.admit_readings(&sensor.tenant, items.len()).await {
                            // Closing, not skipping the frame: a later frame must never be
                            // applied before this one. The acks owed go out first.
                            if drain(&mut conn, &mut window, &ack_seconds, &mut pending).await {
                                let reason = format!("{}; resend readings after the last acknowledged seq", err.message);
                                conn.close(err.code, &reason).await;
                            }
                            return;
                        }
                        let admission = state.admission.clone();
                        let (tenant, readings) = (sensor.tenant.clone(), items.len());
                        let admission: Admission = Box::pin(async move { admission.admit(&tenant, readings).await });
                        let frame = frame_span(&sensor, items.len());
                        admitting = Some((items, admission, frame));
                        None
                    }
                    Ok(SensorFrame::Hello { .. }) => Some((ErrorCode::InvalidRequest, "already authenticated; send readings".to_owned(), None)),
                    Err(err) => Some((err.code(), err.to_string(), err.seq())),
                };
                if let Some((code, message, seq)) = rejected {
                    telemetry::rejected(code);
                    if conn.send(&ServerFrame::Error { code, message, seq }).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// The span of one `readings` frame, from its arrival to its ack: the root of a trace of its
/// own, linked to the connection's span (the current one) and through it to the upgrade's
/// `traceparent`.
fn frame_span(sensor: &Sensor, readings: usize) -> Span {
    let span = tracing::info_span!(
        parent: None,
        "ingest.sensor_frame",
        tenant = %sensor.tenant,
        office = %sensor.office,
        room = %sensor.room,
        sensor = %sensor.id,
        readings,
    );
    span.follows_from(Span::current());
    span.in_scope(|| tracing::debug!("readings frame"));
    span
}

/// Sends the ack of an answered batch, or closes the connection on its error. Returns whether
/// the connection goes on.
async fn deliver(
    conn: &mut WsConn,
    window: &mut InflightWindow,
    ack_seconds: &metrics::Histogram,
    (items, arrived, result): Answer,
) -> bool {
    window.answered(items);
    match result {
        Ok(up_to_seq) => {
            ack_seconds.record(arrived.elapsed().as_secs_f64());
            conn.send(&ServerFrame::Ack { up_to_seq }).await.is_ok()
        }
        Err(err) => {
            let reason =
                format!("{err}; reconnect and resend readings after the last acknowledged seq");
            conn.close(err.code(), &reason).await;
            false
        }
    }
}

/// Sends every ack still owed, in order, before the connection closes. Returns whether the
/// connection is still open.
async fn drain(
    conn: &mut WsConn,
    window: &mut InflightWindow,
    ack_seconds: &metrics::Histogram,
    pending: &mut FuturesOrdered<PendingAck>,
) -> bool {
    while let Some(answer) = pending.next().await {
        if !deliver(conn, window, ack_seconds, answer).await {
            return false;
        }
    }
    true
}

/// Sends a batch to the room now (so batches keep their order) and returns its pending ack,
/// with its size and arrival time for the window and the ack-latency histogram.
fn send(
    room: &RoomHandle,
    sensor: &Sensor,
    items: Vec<Reading>,
    admitted: Admitted,
) -> Result<PendingAck, ServiceError> {
    let count = items.len();
    let arrived = Instant::now();
    let ack = dispatch(room, sensor.id.clone(), items, admitted)?;
    Ok(Box::pin(async move { (count, arrived, ack.await) }))
}
