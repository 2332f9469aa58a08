//! REST registry under `/v1/tenants`: tenants, offices, rooms (with capacity), sensors (the key
//! is returned once and stored only as a hash), and JWT minting for displays and readers.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use tally_protocol::api::{NewOffice, NewRoom, NewSensor, NewTenant, NewToken};
use tally_protocol::{ErrorCode, OfficeId, RoomId, TenantId};
use tally_storage::{Office, Room, Sensor, Tenant};

use crate::auth::{Principal, hash_key, new_sensor_key, now_secs};
use crate::error::{ApiError, ApiJson, ApiPath};
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Registry routes.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_tenant, list_tenants))
        .routes(routes!(create_office, list_offices))
        .routes(routes!(create_room, list_rooms))
        .routes(routes!(create_sensor, list_sensors))
        .routes(routes!(mint_token))
        .routes(routes!(release_quarantine))
        .routes(routes!(get_tenant))
}

/// Creates a tenant.
#[utoipa::path(
    post,
    path = "/v1/tenants",
    tag = "registry",
    request_body = NewTenant,
    security(("admin_token" = [])),
    responses(
        (status = 201, description = "Created", body = Tenant),
        crate::openapi::CreateErrors,
    )
)]
async fn create_tenant(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<NewTenant>,
) -> Result<(StatusCode, Json<Tenant>), ApiError> {
    principal.require_superadmin()?;
    let (id, name) = body.checked()?;
    let tenant = Tenant { id, name };
    state.store.create_tenant(&tenant).await?;
    tracing::info!(tenant = %tenant.id, "tenant created");
    state.audit.record(
        "tenant.created",
        Some(&tenant.id),
        format!("tenant {}", tenant.id),
    );
    Ok((StatusCode::CREATED, Json(tenant)))
}

/// Lists every tenant.
#[utoipa::path(
    get,
    path = "/v1/tenants",
    tag = "registry",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Every tenant", body = Vec<Tenant>),
        crate::openapi::NodeErrors,
    )
)]
async fn list_tenants(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Vec<Tenant>>, ApiError> {
    principal.require_superadmin()?;
    Ok(Json(state.store.tenants().await?))
}

/// Reads a tenant.
#[utoipa::path(
    get,
    path = "/v1/tenants/{tenant}",
    tag = "registry",
    params(crate::openapi::TenantPath),
    security(("tenant_jwt" = []), ("admin_token" = [])),
    responses(
        (status = 200, description = "The tenant", body = Tenant),
        crate::openapi::ReadErrors,
    )
)]
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

/// Creates an office of a tenant.
#[utoipa::path(
    post,
    path = "/v1/tenants/{tenant}/offices",
    tag = "registry",
    params(crate::openapi::TenantPath),
    request_body = NewOffice,
    security(("tenant_jwt" = []), ("admin_token" = [])),
    responses(
        (status = 201, description = "Created", body = Office),
        crate::openapi::CreateErrors,
    )
)]
async fn create_office(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(tenant): ApiPath<TenantId>,
    ApiJson(body): ApiJson<NewOffice>,
) -> Result<(StatusCode, Json<Office>), ApiError> {
    principal.require_admin(&tenant)?;
    let (id, name) = body.checked()?;
    let office = Office { tenant, id, name };
    state.store.create_office(&office).await?;
    state.audit.record(
        "office.created",
        Some(&office.tenant),
        format!("office {}", office.id),
    );
    Ok((StatusCode::CREATED, Json(office)))
}

/// Lists the offices of a tenant.
#[utoipa::path(
    get,
    path = "/v1/tenants/{tenant}/offices",
    tag = "registry",
    params(crate::openapi::TenantPath),
    security(("tenant_jwt" = []), ("admin_token" = [])),
    responses(
        (status = 200, description = "Every office of the tenant", body = Vec<Office>),
        crate::openapi::ReadErrors,
    )
)]
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

/// Creates a room in an office.
#[utoipa::path(
    post,
    path = "/v1/tenants/{tenant}/offices/{office}/rooms",
    tag = "registry",
    params(crate::openapi::OfficePath),
    request_body = NewRoom,
    security(("tenant_jwt" = []), ("admin_token" = [])),
    responses(
        (status = 201, description = "Created", body = Room),
        crate::openapi::CreateErrors,
    )
)]
async fn create_room(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((tenant, office)): ApiPath<(TenantId, OfficeId)>,
    ApiJson(body): ApiJson<NewRoom>,
) -> Result<(StatusCode, Json<Room>), ApiError> {
    principal.require_admin(&tenant)?;
    let (id, name) = body.checked_name()?;
    let room = Room {
        tenant,
        office,
        id,
        name,
        capacity: body.capacity,
        count_mode: body.count_mode,
    };
    state.store.create_room(&room).await?;
    state.router.room_created(room.clone());
    state.audit.record(
        "room.created",
        Some(&room.tenant),
        format!("room {} in office {}", room.id, room.office),
    );
    Ok((StatusCode::CREATED, Json(room)))
}

/// Lists the rooms of an office.
#[utoipa::path(
    get,
    path = "/v1/tenants/{tenant}/offices/{office}/rooms",
    tag = "registry",
    params(crate::openapi::OfficePath),
    security(("tenant_jwt" = []), ("admin_token" = [])),
    responses(
        (status = 200, description = "Every room of the office", body = Vec<Room>),
        crate::openapi::ReadErrors,
    )
)]
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

/// A created sensor with its key: the only time the key is shown.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct CreatedSensor {
    #[serde(flatten)]
    sensor: Sensor,
    /// The sensor key (`tsk_…`), shown only now: the node keeps only its hash.
    key: String,
}

/// Creates a sensor in a room and returns its key, once.
#[utoipa::path(
    post,
    path = "/v1/tenants/{tenant}/offices/{office}/rooms/{room}/sensors",
    tag = "registry",
    params(crate::openapi::RoomPath),
    request_body = NewSensor,
    security(("tenant_jwt" = []), ("admin_token" = [])),
    responses(
        (status = 201, description = "Created; the key is never shown again", body = CreatedSensor),
        crate::openapi::CreateErrors,
    )
)]
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
        id: body.checked()?,
    };
    let key = new_sensor_key();
    state.store.create_sensor(&sensor, &hash_key(&key)).await?;
    state.audit.record(
        "sensor.created",
        Some(&sensor.tenant),
        format!("sensor {} in room {}", sensor.id, sensor.room),
    );
    Ok((StatusCode::CREATED, Json(CreatedSensor { sensor, key })))
}

/// Lists the sensors of a room (without keys).
#[utoipa::path(
    get,
    path = "/v1/tenants/{tenant}/offices/{office}/rooms/{room}/sensors",
    tag = "registry",
    params(crate::openapi::RoomPath),
    security(("tenant_jwt" = []), ("admin_token" = [])),
    responses(
        (status = 200, description = "Every sensor of the room", body = Vec<Sensor>),
        crate::openapi::ReadErrors,
    )
)]
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

/// A minted token.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct MintedToken {
    /// The JWT, for `Authorization: Bearer …` (or a display's `access_token`).
    token: String,
    /// Its id (`jti`), by which `POST /v1/tenants/{tenant}/tokens/revoke` revokes it.
    id: String,
    /// Expiry in milliseconds since the epoch.
    expires_at: u64,
}

/// Mints a JWT of the tenant for a display or a reader.
#[utoipa::path(
    post,
    path = "/v1/tenants/{tenant}/tokens",
    tag = "registry",
    params(crate::openapi::TenantPath),
    request_body = NewToken,
    security(("tenant_jwt" = []), ("admin_token" = [])),
    responses(
        (status = 201, description = "The token and its expiry", body = MintedToken),
        crate::openapi::AdminBodyErrors,
    )
)]
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
    // A tenant admin's token never outlives the token that minted it: a leaked admin token
    // cannot be turned into a chain of fresh ones.
    let max_ttl = match &principal {
        Principal::Tenant { exp, .. } => {
            Duration::from_secs(exp.saturating_sub(now_secs())).min(state.settings.auth.token_ttl)
        }
        Principal::SuperAdmin => state.settings.auth.token_ttl,
    };
    if max_ttl.is_zero() {
        return Err(ApiError::new(
            ErrorCode::TokenExpired,
            "the token has expired",
        ));
    }
    let ttl = body.ttl(max_ttl)?;
    let subject = body.subject(&tenant)?;
    let mark = state.revocations.current(&tenant).await?.issued_before;
    let minted = state.auth.mint(
        tenant.clone(),
        body.role,
        subject.clone(),
        ttl,
        mark.unwrap_or(0),
    )?;
    state.audit.record(
        "token.minted",
        Some(&tenant),
        format!(
            "{} token {} for {subject}, expires at {}s",
            format!("{:?}", body.role).to_lowercase(),
            minted.jti,
            minted.exp
        ),
    );
    Ok((
        StatusCode::CREATED,
        Json(MintedToken {
            token: minted.token,
            id: minted.jti,
            expires_at: minted.exp * 1000,
        }),
    ))
}

/// `DELETE /v1/tenants/{tenant}/quarantine` (admin token): lifts a tenant's quarantine once an
/// operator has fixed the cause, on every node of a cluster. 204 if it was quarantined, 404
/// `not_found` if not.
#[utoipa::path(
    delete,
    path = "/v1/tenants/{tenant}/quarantine",
    tag = "registry",
    summary = "Lifts the quarantine of a tenant",
    params(crate::openapi::TenantPath),
    security(("admin_token" = [])),
    responses(
        (status = 204, description = "The tenant was quarantined and is no longer"),
        crate::openapi::AdminErrors,
    )
)]
async fn release_quarantine(
    State(state): State<AppState>,
    principal: Principal,
    headers: axum::http::HeaderMap,
    ApiPath(tenant): ApiPath<TenantId>,
) -> Result<StatusCode, ApiError> {
    principal.require_superadmin()?;
    if super::cluster::release_everywhere(&state, &headers, &tenant).await? {
        state.audit.record(
            "quarantine.lifted",
            Some(&tenant),
            format!("tenant {tenant}"),
        );
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("quarantine of tenant", &tenant))
    }
}
