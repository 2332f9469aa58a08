//! `POST /v1/readings`: the sensor path for gateways that cannot keep a socket. Same checks as
//! the WebSocket; answers after the durable write. A sensor sends its next batch only after the
//! answer to the previous one (batches of one sensor must not overtake each other).

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use serde::Serialize;
use tally_protocol::{Codec, ErrorCode, ReadingBatch, now_ms, validate_batch};
use tracing::field::{self, Empty};
use tracing::{Instrument, Span};

use super::admission::dispatch;
use super::sensor_key::sensor_by_key;
use crate::error::ApiError;
use crate::state::AppState;
use crate::trace_parent;

/// Answer of `POST /v1/readings`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct BatchAck {
    /// Every reading of the sensor with `seq <= up_to_seq` is durable.
    pub up_to_seq: u64,
}

/// `POST /v1/readings` with `Authorization: Bearer <sensor key>` and a [`ReadingBatch`] body.
///
/// # Errors
/// The documented codes: `unauthenticated`, `unknown_sensor_key`, `frame_too_large`,
/// `malformed_frame`, reading validation codes, `rate_limited` (with `Retry-After`),
/// `unavailable`, `storage_failure`.
#[utoipa::path(
    post,
    path = "/v1/readings",
    tag = "sensors",
    summary = "Send a batch of readings over HTTP",
    description = "The sensor path for gateways that cannot keep a socket: the same checks as \
        the WebSocket; answers after the durable write. A sensor sends its next batch only after \
        the answer to the previous one, and resends on 503 (dedup makes that exactly-once).",
    security(("sensor_key" = [])),
    request_body(content(
        (ReadingBatch = "application/json"),
        (ReadingBatch = "application/msgpack"),
    )),
    responses(
        (status = 200, description = "Every reading of the sensor up to `up_to_seq` is durable", body = BatchAck),
        (status = 400, response = crate::openapi::BadRequest),
        (status = 401, response = crate::openapi::Unauthenticated),
        (status = 413, response = crate::openapi::PayloadTooLarge),
        (status = 429, response = crate::openapi::RateLimited),
        (status = 503, response = crate::openapi::Unavailable),
    )
)]
pub(crate) async fn post_readings(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<BatchAck>, ApiError> {
    // The gateway's span of the batch (its fields recorded once the key names the sensor): the
    // root of the reading's trace on this node, or a child of the sensor's `traceparent`.
    let span = tracing::info_span!(
        "ingest.http_batch",
        tenant = Empty,
        office = Empty,
        room = Empty,
        sensor = Empty,
        readings = Empty,
    );
    trace_parent::adopt(trace_parent::from_headers(&headers).as_ref(), &span);
    let result = handle(&state, &headers, body).instrument(span).await;
    if let Err(err) = &result {
        crate::telemetry::rejected(err.code);
    }
    result.map(Json)
}

async fn handle(state: &AppState, headers: &HeaderMap, body: Body) -> Result<BatchAck, ApiError> {
    let key = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unauthenticated,
                "missing Authorization: Bearer <sensor key>",
            )
        })?;
    let sensor = sensor_by_key(state, key.trim()).await?;
    Span::current()
        .record("tenant", field::display(&sensor.tenant))
        .record("office", field::display(&sensor.office))
        .record("room", field::display(&sensor.room))
        .record("sensor", field::display(&sensor.id));
    let codec = match headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
        Some(ct)
            if ct.starts_with("application/msgpack") || ct.starts_with("application/x-msgpack") =>
        {
            Codec::MsgPack
        }
        _ => Codec::Json,
    };
    let limit = state.limits.max_frame_bytes;
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(
            ErrorCode::FrameTooLarge,
            format!("body exceeds the limit of {limit} bytes"),
        )
    })?;
    let batch: ReadingBatch = codec.decode(&bytes, &state.limits)?;
    Span::current().record("readings", batch.items.len());
    let now = now_ms();
    validate_batch(&batch.items, &state.limits, now)?;
    state.health.check()?;
    state
        .quotas
        .admit_readings(&sensor.tenant, batch.items.len())
        .await?;
    let admitted = state
        .admission
        .admit(&sensor.tenant, batch.items.len())
        .await;
    // Again after the wait for admission: the store may have failed meanwhile.
    state.health.check()?;
    let room = state
        .router
        .room(&sensor.tenant, &sensor.office, &sensor.room)
        .await?;
    // The room is resolved per request, so a restarted room is found again by the next request;
    // `unavailable` (503) tells the sensor to retry, and dedup makes the retry safe.
    let up_to_seq = dispatch(&room, sensor.id, batch.items, admitted)?.await?;
    tracing::debug!(up_to_seq, "batch durable");
    Ok(BatchAck { up_to_seq })
}
