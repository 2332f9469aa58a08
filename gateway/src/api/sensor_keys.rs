//! A sensor's keys and the sensor itself, for the tenant's admins (their own tenant) and the
//! platform admin (any tenant):
//!
//! - `GET /v1/tenants/{tenant}/sensors/{sensor}/keys`: the keys (ids and times, never secrets);
//! - `POST …/keys/rotate`: a new key, shown once; the old ones stay valid for the overlap;
//! - `DELETE …/keys/{key}`: revokes one key; `DELETE …/keys`: revokes every key;
//! - `DELETE /v1/tenants/{tenant}/sensors/{sensor}`: deletes the sensor and its keys.
//!
//! Another tenant's sensor answers 404 like an unknown one. A revocation or a deletion closes
//! the sensor's open WebSocket with 4401 (at once on this node, within
//! `auth.revocation_refresh` on the others) and its next HTTP batch is refused with 401.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tally_protocol::api::Rotate;
use tally_protocol::{SensorId, TenantId, TimestampMs, now_ms};
use tally_storage::SensorKey;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Principal, hash_key, new_sensor_key};
use crate::error::{ApiError, ApiJson, ApiPath};
use crate::state::AppState;

/// The sensor key routes, with their description.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_keys, revoke_all_keys))
        .routes(routes!(rotate_key))
        .routes(routes!(revoke_key))
        .routes(routes!(delete_sensor))
}

/// Path parameters of routes under a sensor.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[expect(
    dead_code,
    reason = "describes the path; handlers parse it with `ApiPath`"
)]
pub(crate) struct SensorPath {
    /// The tenant.
    tenant: TenantId,
    /// The sensor (ids are unique per tenant).
    sensor: SensorId,
}

/// Path parameters of routes under one key of a sensor.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[expect(
    dead_code,
    reason = "describes the path; handlers parse it with `ApiPath`"
)]
pub(crate) struct SensorKeyPath {
    /// The tenant.
    tenant: TenantId,
    /// The sensor.
    sensor: SensorId,
    /// The key's id (`id` in the key list: 16 hex digits).
    key: String,
}

/// One key of a sensor, without its secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct KeyInfo {
    /// The key's id: the first 8 bytes of its SHA-256 in hex.
    id: String,
    /// When it was added (ms since the epoch); absent for keys older than key times.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>)]
    created_at: Option<TimestampMs>,
    /// From this time on (ms since the epoch) it is refused; absent: until revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>)]
    expires_at: Option<TimestampMs>,
    /// Whether it is accepted now.
    valid: bool,
}

impl KeyInfo {
    fn of(key: &SensorKey, now: TimestampMs) -> Self {
        Self {
            id: key.id(),
            created_at: key.created_at,
            expires_at: key.expires_at,
            valid: key.valid_at(now),
        }
    }
}

/// The tenant's sensor (after the caller was allowed to manage the tenant), or 404.
async fn ensure_sensor(
    state: &AppState,
    tenant: &TenantId,
    sensor: &SensorId,
) -> Result<(), ApiError> {
    match state.store.sensor(tenant, sensor).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found("sensor", sensor)),
    }
}

/// Lists a sensor's keys, oldest first: their ids, times and whether each is valid now.
#[utoipa::path(
    get,
    path = "/v1/tenants/{tenant}/sensors/{sensor}/keys",
    tag = "registry",
    params(SensorPath),
    security(("tenant_jwt" = []), ("admin_token" = [])),
    responses(
        (status = 200, description = "The sensor's keys", body = Vec<KeyInfo>),
        crate::openapi::AdminErrors,
    )
)]
async fn list_keys(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, sensor)): ApiPath<(TenantId, SensorId)>,
) -> Result<Json<Vec<KeyInfo>>, ApiError> {
    principal.require_admin(&tenant)?;
    ensure_sensor(&state, &tenant, &sensor).await?;
    let now = now_ms();
    let keys = state.store.sensor_keys(&tenant, &sensor).await?;
    Ok(Json(keys.iter().map(|key| KeyInfo::of(key, now)).collect()))
}

/// A new key: the only time its secret is shown.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct RotatedKey {
    /// The new key's id.
    id: String,
    /// The sensor key (`tsk_…`), shown only now.
    key: String,
    /// When it was added (ms since the epoch).
    #[schema(value_type = i64)]
    created_at: TimestampMs,
    /// Every other key of the sensor expires at this time at the latest (ms since the epoch).
    #[schema(value_type = i64)]
    previous_keys_expire_at: TimestampMs,
}

/// Rotates a sensor's key: adds a new one and gives the others an expiry at the end of the
/// overlap, so the sensor keeps working while it switches (both keys valid until then).
#[utoipa::path(
    post,
    path = "/v1/tenants/{tenant}/sensors/{sensor}/keys/rotate",
    tag = "registry",
    params(SensorPath),
    request_body(content = Rotate, description = "Optional; `{}` takes the default overlap"),
    security(("tenant_jwt" = []), ("admin_token" = [])),
    responses(
        (status = 201, description = "The new key, never shown again", body = RotatedKey),
        crate::openapi::AdminBodyErrors,
    )
)]
async fn rotate_key(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, sensor)): ApiPath<(TenantId, SensorId)>,
    ApiJson(body): ApiJson<Rotate>,
) -> Result<(StatusCode, Json<RotatedKey>), ApiError> {
    principal.require_admin(&tenant)?;
    let overlap = body.overlap()?;
    let now = now_ms();
    let expire_at = now + i64::try_from(overlap.as_millis()).unwrap_or(i64::MAX);
    let secret = new_sensor_key();
    let key = SensorKey::new(hash_key(&secret), now);
    state
        .store
        .add_sensor_key(&tenant, &sensor, &key, Some(expire_at))
        .await
        .map_err(|err| sensor_not_found(err, &sensor))?;
    if overlap.is_zero() {
        state.sensor_keys.changed(&tenant, &sensor);
    }
    tracing::info!(%tenant, %sensor, key = %key.id(), previous_keys_expire_at = expire_at, "sensor key rotated");
    state.audit.record(
        "sensor_key.rotated",
        Some(&tenant),
        format!(
            "sensor {sensor}: key {} added, previous keys expire at {expire_at}",
            key.id()
        ),
    );
    Ok((
        StatusCode::CREATED,
        Json(RotatedKey {
            id: key.id(),
            key: secret,
            created_at: now,
            previous_keys_expire_at: expire_at,
        }),
    ))
}

/// The store's `NotFound` of the sensor as the API's 404, other errors as they are.
fn sensor_not_found(err: tally_storage::StoreError, sensor: &SensorId) -> ApiError {
    match err {
        tally_storage::StoreError::NotFound { .. } => ApiError::not_found("sensor", sensor),
        other => other.into(),
    }
}

/// How many keys a revocation deleted.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct Revoked {
    /// Keys deleted.
    revoked: u64,
}

/// Revokes every key of a sensor: it cannot connect until it gets a new one (rotate).
#[utoipa::path(
    delete,
    path = "/v1/tenants/{tenant}/sensors/{sensor}/keys",
    tag = "registry",
    params(SensorPath),
    security(("tenant_jwt" = []), ("admin_token" = [])),
    responses(
        (status = 200, description = "The keys are revoked", body = Revoked),
        crate::openapi::AdminErrors,
    )
)]
async fn revoke_all_keys(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, sensor)): ApiPath<(TenantId, SensorId)>,
) -> Result<Json<Revoked>, ApiError> {
    principal.require_admin(&tenant)?;
    let revoked = state
        .store
        .revoke_sensor_keys(&tenant, &sensor, None)
        .await
        .map_err(|err| sensor_not_found(err, &sensor))?;
    state.sensor_keys.changed(&tenant, &sensor);
    tracing::info!(%tenant, %sensor, revoked, "sensor keys revoked");
    state.audit.record(
        "sensor_key.revoked",
        Some(&tenant),
        format!("sensor {sensor}: all {revoked} keys revoked"),
    );
    Ok(Json(Revoked { revoked }))
}

/// Revokes one key of a sensor by its id; its other keys keep working.
#[utoipa::path(
    delete,
    path = "/v1/tenants/{tenant}/sensors/{sensor}/keys/{key}",
    tag = "registry",
    params(SensorKeyPath),
    security(("tenant_jwt" = []), ("admin_token" = [])),
    responses(
        (status = 204, description = "The key is revoked"),
        crate::openapi::AdminErrors,
    )
)]
async fn revoke_key(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, sensor, key_id)): ApiPath<(TenantId, SensorId, String)>,
) -> Result<StatusCode, ApiError> {
    principal.require_admin(&tenant)?;
    ensure_sensor(&state, &tenant, &sensor).await?;
    let keys = state.store.sensor_keys(&tenant, &sensor).await?;
    let Some(key) = keys.iter().find(|key| key.id() == key_id) else {
        return Err(ApiError::not_found("sensor key", &key_id));
    };
    let revoked = state
        .store
        .revoke_sensor_keys(&tenant, &sensor, Some(&key.hash))
        .await
        .map_err(|err| sensor_not_found(err, &sensor))?;
    if revoked == 0 {
        // Revoked concurrently by another request.
        return Err(ApiError::not_found("sensor key", &key_id));
    }
    state.sensor_keys.changed(&tenant, &sensor);
    tracing::info!(%tenant, %sensor, key = %key_id, "sensor key revoked");
    state.audit.record(
        "sensor_key.revoked",
        Some(&tenant),
        format!("sensor {sensor}: key {key_id} revoked"),
    );
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes a sensor and every key of it. Its readings stay (they are its room's history).
#[utoipa::path(
    delete,
    path = "/v1/tenants/{tenant}/sensors/{sensor}",
    tag = "registry",
    params(SensorPath),
    security(("tenant_jwt" = []), ("admin_token" = [])),
    responses(
        (status = 204, description = "The sensor is deleted"),
        crate::openapi::AdminErrors,
    )
)]
async fn delete_sensor(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, sensor)): ApiPath<(TenantId, SensorId)>,
) -> Result<StatusCode, ApiError> {
    principal.require_admin(&tenant)?;
    state
        .store
        .delete_sensor(&tenant, &sensor)
        .await
        .map_err(|err| sensor_not_found(err, &sensor))?;
    state.sensor_keys.changed(&tenant, &sensor);
    tracing::info!(%tenant, %sensor, "sensor deleted");
    state.audit.record(
        "sensor.deleted",
        Some(&tenant),
        format!("sensor {sensor} and its keys deleted"),
    );
    Ok(StatusCode::NO_CONTENT)
}
