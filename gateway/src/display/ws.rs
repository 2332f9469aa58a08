//! `GET /v1/live`: a display's WebSocket. Authenticated with a tenant JWT (header, or the
//! `access_token` query parameter for browsers); the display sends `subscribe` for an office (or
//! one room) of its tenant, gets a snapshot, then coalesced deltas; or `subscribe_tenant` for
//! every office of its tenant ([`TenantStream`]). If the office restarts, the
//! display is resubscribed and gets a fresh snapshot. The socket closes with 4401 when the token
//! expires, or when it is revoked (audited in the tenant's log with the upgrade request's id).
//!
//! Traces: each `subscribe` (or `subscribe_tenant`) request gets a `display.subscribe` span,
//! the child of the upgrade request's `traceparent` when it carried one, so a display's
//! connection and subscriptions show in the trace of whatever opened it. The frames pushed
//! afterwards are fan-out from the office, no request of the display's, and are not traced.
//!
//! Frames in flight are bounded by pongs ([`FrameWindow`]): a display that stops reading holds
//! up at most `display.inflight_frames` frames, and reads the present when it resumes.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Extension;
use axum::extract::State;
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tally_cluster::{DisplayStream, TenantStream, TraceContext};
use tally_protocol::{
    Codec, DisplayFrame, DisplayRequest, ErrorCode, OfficeId, RoomId, SUBPROTOCOL_JSON,
    SUBPROTOCOL_MSGPACK, ServiceError, TenantFrame, TenantId,
};

use tracing::Instrument;

use super::flow::FrameWindow;
use crate::audit::{RequestAudit, request_context};
use crate::auth::{DisplayViewer, IssuedToken, revoked};
use crate::error::{ApiError, hide_tenant};
use crate::listener::ConnectionSlot;
use crate::state::AppState;
use crate::telemetry;
use crate::trace_parent;
use crate::ws_conn::{Event, Incoming, WsConn};

/// Upgrades a display connection (JSON unless `tally.v1.msgpack` is requested).
#[utoipa::path(
    get,
    path = "/v1/live",
    tag = "displays",
    summary = "A display's WebSocket",
    description = "A WebSocket (subprotocol `tally.v1.json`, the default, or `tally.v1.msgpack`) \
        authenticated with a tenant JWT. The display sends `DisplayRequest`s: `subscribe` for an \
        office (or one room) of its tenant, answered by a `DisplayFrame` snapshot then coalesced \
        deltas; or `subscribe_tenant`, answered by `TenantFrame`s. Every frame carries a \
        version; on a gap, subscribe again. Closes with 4401 when the token expires or is \
        revoked.",
    security(("tenant_jwt" = []), ("viewer_token" = [])),
    responses(
        (status = 101, description = "Switching Protocols: the WebSocket is open; frames are `DisplayRequest` (to the node) and `DisplayFrame` or `TenantFrame` (to the display)"),
        crate::openapi::DisplaySocketErrors,
    )
)]
pub(crate) async fn connect(
    State(state): State<AppState>,
    DisplayViewer { token, exp }: DisplayViewer,
    slot: Option<Extension<ConnectionSlot>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    // The upgrade request's trace context becomes the parent of the subscriptions' spans.
    let trace = trace_parent::from_headers(&headers);
    // The socket counts against its tenant's connection quota while it is open.
    let tenant_slot = match state.quotas.open_connection(&token.tenant) {
        Ok(slot) => slot,
        Err(err) => return err.into_response(),
    };
    let ws = ws.protocols([SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK]);
    let codec = ws
        .selected_protocol()
        .and_then(|p| p.to_str().ok())
        .and_then(Codec::from_subprotocol)
        .unwrap_or(Codec::Json);
    // The upgrade request's audit context (request id, source, principal), for a refusal on the
    // socket.
    let audit = request_context();
    ws.max_message_size(64 * 1024)
        .read_buffer_size(crate::ws_conn::READ_BUFFER_BYTES)
        .on_upgrade(move |socket| {
            let shutdown = state.shutdown.clone();
            shutdown.track(async move {
                // The connection keeps its place in the node's limits while the socket is open.
                let _slots = (slot, tenant_slot);
                run(state, socket, codec, token, exp, trace, audit).await;
            })
        })
}

/// The current subscription of a display.
#[derive(Debug)]
enum Subscription {
    /// An office, or one room of it.
    Office {
        office: OfficeId,
        room: Option<RoomId>,
        frames: DisplayStream,
    },
    /// Every office of the tenant.
    Tenant(TenantStream),
}

/// A frame of either kind of subscription (each carries its own `type` tag).
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Outgoing {
    Office(DisplayFrame),
    Tenant(TenantFrame),
}

async fn run(
    state: AppState,
    socket: WebSocket,
    codec: Codec,
    token: IssuedToken,
    exp: u64,
    trace: Option<TraceContext>,
    audit: Option<Arc<RequestAudit>>,
) {
    let _gauge = telemetry::ConnectionGauge::open(telemetry::DISPLAY_CONNECTIONS);
    let mut conn = WsConn::new(socket, codec);
    let expiry = tokio::time::sleep(until(exp));
    tokio::pin!(expiry);
    let tenant = token.tenant.clone();
    // The token is re-checked on every revocation made on this node, and every refresh period
    // for those made elsewhere.
    let mut revocations_changed = state.revocations.changed();
    let mut recheck = tokio::time::interval(state.revocations.refresh());
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut subscription: Option<Subscription> = None;
    let mut window = FrameWindow::new(state.settings.display.inflight_frames);
    loop {
        tokio::select! {
            () = &mut expiry => return conn.close(ErrorCode::TokenExpired, "the token has expired").await,
            () = state.shutdown.stopping() => return conn.close_going_away("the node is stopping; reconnect").await,
            _ = revocations_changed.changed() => if let Some(err) = revoked_now(&state, &token).await {
                return close_revoked(&state, &mut conn, audit.as_deref(), &tenant, &err).await;
            },
            _ = recheck.tick() => if let Some(err) = revoked_now(&state, &token).await {
                return close_revoked(&state, &mut conn, audit.as_deref(), &tenant, &err).await;
            },
            frame = next_frame(&mut subscription), if window.has_room() => match frame {
                Some(frame) => {
                    if conn.send(&frame).await.is_err() || conn.ping(window.sent()).await.is_err() {
                        return;
                    }
                }
                None => {
                    // An office stopped (restart, passivation, handover to another node):
                    // subscribe again for a snapshot.
                    let Some(ended) = subscription.take() else { continue };
                    match resubscribe(&state, &tenant, ended).await {
                        Ok(renewed) => subscription = Some(renewed),
                        Err(err) => return conn.close(err.code, &err.message).await,
                    }
                }
            },
            event = conn.recv_event() => {
                let bytes = match event {
                    Event::Pong(payload) => {
                        window.pong(&payload);
                        continue;
                    }
                    Event::Incoming(Incoming::Data(bytes)) => bytes,
                    Event::Incoming(Incoming::Closed) => return,
                };
                let request = codec.decode::<DisplayRequest>(&bytes, &state.limits).map_err(ApiError::from);
                let result = match request {
                    Ok(request) => subscribe_traced(&state, &tenant, request, trace.as_ref()).await,
                    Err(err) => Err(err),
                };
                match result {
                    Ok(renewed) => subscription = Some(renewed),
                    Err(err) => {
                        telemetry::rejected(err.code);
                        if conn.send(&DisplayFrame::Error { code: err.code, message: err.message }).await.is_err() {
                            return;
                        }
                    }
                }
            }
        }
    }
}

/// Subscribes as the display asked, in a `display.subscribe` span: the child of the upgrade's
/// trace context if it came with one.
async fn subscribe_traced(
    state: &AppState,
    tenant: &TenantId,
    request: DisplayRequest,
    trace: Option<&TraceContext>,
) -> Result<Subscription, ApiError> {
    let span = match &request {
        DisplayRequest::Subscribe { office, room } => {
            let room = room.as_ref().map(tracing::field::display);
            tracing::info_span!("display.subscribe", tenant = %tenant, office = %office, room)
        }
        DisplayRequest::SubscribeTenant => {
            tracing::info_span!("display.subscribe", tenant = %tenant, office = "*")
        }
    };
    trace_parent::adopt(trace, &span);
    let subscribed = async {
        let subscribed = match request {
            DisplayRequest::Subscribe { office, room } => {
                subscribe(state, tenant, office, room).await
            }
            DisplayRequest::SubscribeTenant => subscribe_tenant(state, tenant).await,
        };
        match &subscribed {
            Ok(_) => tracing::debug!("display subscribed"),
            Err(err) => tracing::debug!(code = %err.code, "display subscription refused"),
        }
        subscribed
    };
    subscribed.instrument(span).await
}

/// Closes the socket of a revoked token with `err`, and records the refusal in its tenant's log.
async fn close_revoked(
    state: &AppState,
    conn: &mut WsConn,
    audit: Option<&RequestAudit>,
    tenant: &TenantId,
    err: &ApiError,
) {
    let detail = format!(
        "GET /v1/live: token revoked while the socket was open; closed {}",
        err.code.ws_close_code()
    );
    state.audit.denied(audit, Some(tenant), detail);
    conn.close(err.code, &err.message).await;
}

/// The refusal of the display's token if it has been revoked. A store that cannot be read keeps
/// the socket open (the last copy of the revocations is used, see `auth/revocation.rs`).
async fn revoked_now(state: &AppState, token: &IssuedToken) -> Option<ApiError> {
    match state.revocations.current(&token.tenant).await {
        Ok(revocations) if revocations.revokes(token.iat, token.jti.as_deref()) => Some(revoked()),
        _ => None,
    }
}

/// The next frame of the subscription; pending forever without one, `None` when it ended.
async fn next_frame(subscription: &mut Option<Subscription>) -> Option<Outgoing> {
    match subscription {
        Some(Subscription::Office { frames, .. }) => frames.next().await.map(Outgoing::Office),
        Some(Subscription::Tenant(frames)) => frames.next().await.map(Outgoing::Tenant),
        None => std::future::pending().await,
    }
}

/// Subscribes again to what the `ended` subscription followed. An office handed over to
/// another node answers `unavailable` until its new owner holds it (the old owner releases its
/// lease just after its office stopped): asked again after a short backoff, for at most twice
/// `cluster.lease_ttl`, so that the display sees one fresh snapshot rather than a close.
async fn resubscribe(
    state: &AppState,
    tenant: &TenantId,
    ended: Subscription,
) -> Result<Subscription, ApiError> {
    let deadline = tokio::time::Instant::now() + 2 * state.settings.cluster.lease_ttl;
    let mut backoff = Duration::from_millis(20);
    loop {
        let renewed = match &ended {
            Subscription::Office { office, room, .. } => {
                subscribe(state, tenant, office.clone(), room.clone()).await
            }
            Subscription::Tenant(_) => subscribe_tenant(state, tenant).await,
        };
        match renewed {
            Err(err)
                if err.code == ErrorCode::Unavailable
                    && tokio::time::Instant::now() + backoff < deadline =>
            {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_millis(500));
            }
            other => return other,
        }
    }
}

/// Subscribes to every office of the display's tenant.
async fn subscribe_tenant(state: &AppState, tenant: &TenantId) -> Result<Subscription, ApiError> {
    let offices = state
        .store
        .offices(tenant)
        .await
        .map_err(ServiceError::from)?;
    let frames = TenantStream::subscribe(state.router.as_ref(), tenant, offices).await?;
    Ok(Subscription::Tenant(frames))
}

/// Subscribes to an office of the display's tenant. Another tenant's office answers exactly as
/// a missing one.
async fn subscribe(
    state: &AppState,
    tenant: &TenantId,
    office: OfficeId,
    room: Option<RoomId>,
) -> Result<Subscription, ApiError> {
    let handle = state
        .router
        .office(tenant, &office)
        .await
        .map_err(|err| hide_tenant(err, &office))?;
    let frames = handle.subscribe(room.clone()).await?;
    Ok(Subscription::Office {
        office,
        room,
        frames,
    })
}

/// Time left until `exp` (seconds since the epoch).
fn until(exp: u64) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Duration::from_secs(exp).saturating_sub(now)
}
