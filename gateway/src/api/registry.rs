//! REST registry under `/v1/tenants`: tenants, offices, rooms (with capacity), sensors (the key
//! is returned once and stored only as a hash), and JWT minting for displays and readers.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tally_protocol::{ErrorCode, OfficeId, RoomId, SensorId, TenantId};
use tally_storage::{CountMode, Office, Room, Sensor, Tenant};

use crate::auth::{Principal, Role, hash_key, new_sensor_key};
use crate::error::{ApiError, ApiJson, ApiPath};
use crate::state::AppState;

/// Registry routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/tenants", post(create_tenant).get(list_tenants))
        .route(
            "/v1/tenants/{tenant}/offices",
            post(create_office).get(list_offices),
        )
        .route(
            "/v1/tenants/{tenant}/offices/{office}/rooms",
            post(create_room).get(list_rooms),
        )
        .route(
            "/v1/tenants/{tenant}/offices/{office}/rooms/{room}/sensors",
            post(create_sensor).get(list_sensors),
        )
        .route("/v1/tenants/{tenant}/tokens", post(mint_token))
        .route(
            "/v1/tenants/{tenant}/quarantine",
            axum::routing::delete(release_quarantine),
        )
        .route("/v1/tenants/{tenant}", get(get_tenant))
}

/// Parses an id from a request body; a bad one answers `invalid_id`.
fn parse_id<T: std::str::FromStr<Err = tally_protocol::IdError>>(
    value: &str,
) -> Result<T, ApiError> {
    value.parse().map_err(|err: tally_protocol::IdError| {
        ApiError::new(ErrorCode::InvalidId, err.to_string())
    })
}

/// Longest display name.
const MAX_NAME_LEN: usize = 200;

fn check_name(name: &str) -> Result<(), ApiError> {
    if name.chars().count() > MAX_NAME_LEN {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!(
                "name is {} characters long, at most {MAX_NAME_LEN} allowed",
                name.chars().count()
            ),
        ));
    }
    Ok(())
}

/// Body of `POST /v1/tenants`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewTenant {
    /// Validated by [`parse_id`], so a bad id gets `invalid_id` like one in a path.
    id: String,
    #[serde(default)]
    name: String,
}

async fn create_tenant(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<NewTenant>,
) -> Result<(StatusCode, Json<Tenant>), ApiError> {
    principal.require_superadmin()?;
    check_name(&body.name)?;
    let tenant = Tenant {
        id: parse_id::<TenantId>(&body.id)?,
        name: body.name,
    };
    state.store.create_tenant(&tenant).await?;
    tracing::info!(tenant = %tenant.id, "tenant created");
    Ok((StatusCode::CREATED, Json(tenant)))
}

async fn list_tenants(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Vec<Tenant>>, ApiError> {
    principal.require_superadmin()?;
    Ok(Json(state.store.tenants().await?))
}

async fn get_tenant(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<TenantId>,
) -> Result<Json<Tenant>, ApiError> {
    principal.require_read(&tenant, ("tenant", &tenant))?;
    state
        .store
        .tenant(&tenant)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("tenant", &tenant))
}

/// Body of `POST /v1/tenants/{tenant}/offices`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewOffice {
    /// Validated by [`parse_id`], so a bad id gets `invalid_id` like one in a path.
    id: String,
    #[serde(default)]
    name: String,
}

async fn create_office(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<TenantId>,
    ApiJson(body): ApiJson<NewOffice>,
) -> Result<(StatusCode, Json<Office>), ApiError> {
    principal.require_admin(&tenant)?;
    check_name(&body.name)?;
    let office = Office {
        tenant,
        id: parse_id::<OfficeId>(&body.id)?,
        name: body.name,
    };
    state.store.create_office(&office).await?;
    Ok((StatusCode::CREATED, Json(office)))
}

async fn list_offices(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<TenantId>,
) -> Result<Json<Vec<Office>>, ApiError> {
    principal.require_read(&tenant, ("tenant", &tenant))?;
    if state.store.tenant(&tenant).await?.is_none() {
        return Err(ApiError::not_found("tenant", &tenant));
    }
    Ok(Json(state.store.offices(&tenant).await?))
}

/// Body of `POST /v1/tenants/{tenant}/offices/{office}/rooms`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewRoom {
    /// Validated by [`parse_id`], so a bad id gets `invalid_id` like one in a path.
    id: String,
    #[serde(default)]
    name: String,
    capacity: u32,
    #[serde(default)]
    count_mode: CountMode,
}

async fn create_room(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, office)): ApiPath<(TenantId, OfficeId)>,
    ApiJson(body): ApiJson<NewRoom>,
) -> Result<(StatusCode, Json<Room>), ApiError> {
    principal.require_admin(&tenant)?;
    check_name(&body.name)?;
    let room = Room {
        tenant,
        office,
        id: parse_id::<RoomId>(&body.id)?,
        name: body.name,
        capacity: body.capacity,
        count_mode: body.count_mode,
    };
    state.store.create_room(&room).await?;
    state.router.room_created(room.clone());
    Ok((StatusCode::CREATED, Json(room)))
}

async fn list_rooms(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, office)): ApiPath<(TenantId, OfficeId)>,
) -> Result<Json<Vec<Room>>, ApiError> {
    principal.require_read(&tenant, ("office", &office))?;
    if state.store.office(&tenant, &office).await?.is_none() {
        return Err(ApiError::not_found("office", &office));
    }
    Ok(Json(state.store.rooms(&tenant, &office).await?))
}

/// Body of `POST …/rooms/{room}/sensors`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewSensor {
    /// Validated by [`parse_id`], so a bad id gets `invalid_id` like one in a path.
    id: String,
}

/// A created sensor with its key: the only time the key is shown.
#[derive(Debug, Serialize)]
pub(crate) struct CreatedSensor {
    #[serde(flatten)]
    sensor: Sensor,
    key: String,
}

async fn create_sensor(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, office, room)): ApiPath<(TenantId, OfficeId, RoomId)>,
    ApiJson(body): ApiJson<NewSensor>,
) -> Result<(StatusCode, Json<CreatedSensor>), ApiError> {
    principal.require_admin(&tenant)?;
    let sensor = Sensor {
        tenant,
        office,
        room,
        id: parse_id::<SensorId>(&body.id)?,
    };
    let key = new_sensor_key();
    state.store.create_sensor(&sensor, &hash_key(&key)).await?;
    Ok((StatusCode::CREATED, Json(CreatedSensor { sensor, key })))
}

async fn list_sensors(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, office, room)): ApiPath<(TenantId, OfficeId, RoomId)>,
) -> Result<Json<Vec<Sensor>>, ApiError> {
    principal.require_read(&tenant, ("room", &room))?;
    match state.store.room(&tenant, &room).await? {
        Some(record) if record.office == office => {
            Ok(Json(state.store.sensors(&tenant, &room).await?))
        }
        _ => Err(ApiError::not_found("room", &room)),
    }
}

/// Body of `POST /v1/tenants/{tenant}/tokens`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewToken {
    role: Role,
    /// Free text naming the holder (e.g. "lobby wall display").
    #[serde(default)]
    subject: Option<String>,
    /// Lifetime in seconds; the configured `auth.token_ttl` when absent, never longer.
    #[serde(default)]
    ttl_secs: Option<u64>,
}

/// A minted token.
#[derive(Debug, Serialize)]
pub(crate) struct MintedToken {
    token: String,
    /// Expiry in milliseconds since the epoch.
    expires_at: u64,
}

async fn mint_token(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<TenantId>,
    ApiJson(body): ApiJson<NewToken>,
) -> Result<(StatusCode, Json<MintedToken>), ApiError> {
    principal.require_admin(&tenant)?;
    if state.store.tenant(&tenant).await?.is_none() {
        return Err(ApiError::not_found("tenant", &tenant));
    }
    let max_ttl = state.settings.auth.token_ttl;
    let ttl = body
        .ttl_secs
        .map_or(max_ttl, |secs| Duration::from_secs(secs).min(max_ttl));
    if ttl.is_zero() {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "ttl_secs must be at least 1",
        ));
    }
    let subject = body
        .subject
        .unwrap_or_else(|| format!("{tenant}-{:?}", body.role).to_lowercase());
    check_name(&subject)?;
    let (token, exp) = state.auth.mint(tenant, body.role, subject, ttl)?;
    Ok((
        StatusCode::CREATED,
        Json(MintedToken {
            token,
            expires_at: exp * 1000,
        }),
    ))
}

/// `DELETE /v1/tenants/{tenant}/quarantine` (admin token): lifts a tenant's quarantine once an
/// operator has fixed the cause. 204 if it was quarantined, 404 `not_found` if not.
async fn release_quarantine(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<TenantId>,
) -> Result<StatusCode, ApiError> {
    principal.require_superadmin()?;
    if state.router.release_tenant(&tenant).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("quarantine of tenant", &tenant))
    }
}
