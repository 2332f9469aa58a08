//! Registry reads and writes: tenants, offices, rooms, sensors and the key-hash lookup.
//!
//! Every statement on tenant rows runs in a transaction that first sets `app.tenant`; the only
//! cross-tenant reads go through the SECURITY DEFINER functions `list_tenants()` and
//! `sensor_by_key_hash()`. Uniqueness and parents are the database's constraints (which
//! row-level security does not hide), mapped to `AlreadyExists` and `NotFound`.

use tally_protocol::{OfficeId, RoomId, SensorId, TenantId, TimestampMs};
use tokio_postgres::Row;

use super::{
    Inner,
    errors::{Violation, corrupt, pg, violation},
};
use crate::{CountMode, KeyHash, Office, Room, Sensor, StoreError, Tenant};

/// Maps the error of an insert: constraint violations by constraint name, the rest as usual.
pub(super) fn insert_error(
    error: tokio_postgres::Error,
    name: impl Fn(Violation) -> Option<StoreError>,
) -> StoreError {
    violation(&error)
        .and_then(name)
        .unwrap_or_else(|| pg(error))
}

/// `AlreadyExists` of `kind`.
pub(super) fn exists(kind: &'static str, id: &impl ToString) -> Option<StoreError> {
    Some(StoreError::AlreadyExists {
        kind,
        id: id.to_string(),
    })
}

/// `NotFound` of `kind`.
pub(super) fn missing(kind: &'static str, id: &impl ToString) -> Option<StoreError> {
    Some(StoreError::NotFound {
        kind,
        id: id.to_string(),
    })
}

/// Creates a tenant: its own row, inserted with the tenant set to itself.
pub(super) async fn create_tenant(inner: &Inner, tenant: &Tenant) -> Result<(), StoreError> {
    let mut client = inner.client().await?;
    let tx = inner.tenant_tx(&mut client, &tenant.id, true).await?;
    tx.execute(
        "INSERT INTO tenants (tenant_id, name) VALUES ($1, $2)",
        &[&tenant.id.as_str(), &tenant.name],
    )
    .await
    .map_err(|e| {
        insert_error(e, |v| match v {
            Violation::Unique => exists("tenant", &tenant.id),
            Violation::ForeignKey => None,
        })
    })?;
    tx.commit().await.map_err(pg)
}

/// Every tenant, ordered by id (platform-wide: `list_tenants()`).
pub(super) async fn tenants(inner: &Inner) -> Result<Vec<Tenant>, StoreError> {
    let client = inner.client().await?;
    let rows = client
        .query("SELECT tenant_id, name FROM list_tenants()", &[])
        .await
        .map_err(pg)?;
    rows.iter().map(tenant_row).collect()
}

/// Rows of a tenant-scoped query, in a transaction set to `tenant`; none for an erased tenant.
pub(super) async fn query(
    inner: &Inner,
    tenant: &TenantId,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<Row>, StoreError> {
    let mut client = inner.client().await?;
    let tx = match inner.tenant_tx(&mut client, tenant, false).await {
        Err(StoreError::Erased(_)) => return Ok(Vec::new()),
        other => other?,
    };
    let statement = tx.prepare_cached(sql).await.map_err(pg)?;
    let rows = tx.query(&statement, params).await.map_err(pg)?;
    tx.commit().await.map_err(pg)?;
    Ok(rows)
}

/// A tenant by id.
pub(super) async fn tenant(inner: &Inner, tenant: &TenantId) -> Result<Option<Tenant>, StoreError> {
    let sql = "SELECT tenant_id, name FROM tenants WHERE tenant_id = $1";
    let rows = query(inner, tenant, sql, &[&tenant.as_str()]).await?;
    rows.first().map(tenant_row).transpose()
}

/// Creates an office of an existing tenant.
pub(super) async fn create_office(inner: &Inner, office: &Office) -> Result<(), StoreError> {
    let mut client = inner.client().await?;
    let tx = inner.tenant_tx(&mut client, &office.tenant, true).await?;
    tx.execute(
        "INSERT INTO offices (tenant_id, office_id, name) VALUES ($1, $2, $3)",
        &[&office.tenant.as_str(), &office.id.as_str(), &office.name],
    )
    .await
    .map_err(|e| {
        insert_error(e, |v| match v {
            Violation::Unique => exists("office", &office.id),
            Violation::ForeignKey => missing("tenant", &office.tenant),
        })
    })?;
    tx.commit().await.map_err(pg)
}

/// Offices of a tenant: one (`office = Some`) or all, ordered by id.
pub(super) async fn offices(
    inner: &Inner,
    tenant: &TenantId,
    office: Option<&OfficeId>,
) -> Result<Vec<Office>, StoreError> {
    let rows = match office {
        Some(office) => {
            let sql = "SELECT tenant_id, office_id, name FROM offices \
                       WHERE tenant_id = $1 AND office_id = $2";
            query(inner, tenant, sql, &[&tenant.as_str(), &office.as_str()]).await?
        }
        None => {
            let sql = "SELECT tenant_id, office_id, name FROM offices \
                       WHERE tenant_id = $1 ORDER BY office_id";
            query(inner, tenant, sql, &[&tenant.as_str()]).await?
        }
    };
    rows.iter()
        .map(|row| {
            Ok(Office {
                tenant: id(row, 0, TenantId::new)?,
                id: id(row, 1, OfficeId::new)?,
                name: row.get(2),
            })
        })
        .collect()
}

/// Creates a room in an existing office of its tenant.
pub(super) async fn create_room(inner: &Inner, room: &Room) -> Result<(), StoreError> {
    let mut client = inner.client().await?;
    let tx = inner.tenant_tx(&mut client, &room.tenant, true).await?;
    tx.execute(
        "INSERT INTO rooms (tenant_id, room_id, office_id, name, capacity, count_mode) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &room.tenant.as_str(),
            &room.id.as_str(),
            &room.office.as_str(),
            &room.name,
            &i64::from(room.capacity),
            &room.count_mode.name(),
        ],
    )
    .await
    .map_err(|e| {
        insert_error(e, |v| match v {
            Violation::Unique => exists("room", &room.id),
            Violation::ForeignKey => missing("office", &room.office),
        })
    })?;
    tx.commit().await.map_err(pg)
}

/// Rooms of a tenant: one by id, or every room of an office ordered by id.
pub(super) async fn rooms(
    inner: &Inner,
    tenant: &TenantId,
    filter: RoomFilter<'_>,
) -> Result<Vec<Room>, StoreError> {
    const COLUMNS: &str =
        "SELECT tenant_id, office_id, room_id, name, capacity, count_mode FROM rooms";
    let rows = match filter {
        RoomFilter::Id(room) => {
            let sql = format!("{COLUMNS} WHERE tenant_id = $1 AND room_id = $2");
            query(inner, tenant, &sql, &[&tenant.as_str(), &room.as_str()]).await?
        }
        RoomFilter::Office(office) => {
            let sql = format!("{COLUMNS} WHERE tenant_id = $1 AND office_id = $2 ORDER BY room_id");
            query(inner, tenant, &sql, &[&tenant.as_str(), &office.as_str()]).await?
        }
    };
    rows.iter().map(room_row).collect()
}

/// Which rooms [`rooms`] reads.
#[derive(Debug, Clone, Copy)]
pub(super) enum RoomFilter<'a> {
    /// One room by id.
    Id(&'a RoomId),
    /// Every room of an office.
    Office(&'a OfficeId),
}

/// Creates a sensor in an existing room of its office, with its key hash, in one transaction.
pub(super) async fn create_sensor(
    inner: &Inner,
    sensor: &Sensor,
    key_hash: &KeyHash,
) -> Result<(), StoreError> {
    let mut client = inner.client().await?;
    let tx = inner.tenant_tx(&mut client, &sensor.tenant, true).await?;
    tx.execute(
        "INSERT INTO sensors (tenant_id, sensor_id, office_id, room_id) VALUES ($1, $2, $3, $4)",
        &[
            &sensor.tenant.as_str(),
            &sensor.id.as_str(),
            &sensor.office.as_str(),
            &sensor.room.as_str(),
        ],
    )
    .await
    .map_err(|e| {
        insert_error(e, |v| match v {
            Violation::Unique => exists("sensor", &sensor.id),
            Violation::ForeignKey => missing("room", &format!("{}/{}", sensor.office, sensor.room)),
        })
    })?;
    tx.execute(
        "INSERT INTO sensor_keys (key_hash, tenant_id, sensor_id, created_at) \
         VALUES ($1, $2, $3, $4)",
        &[
            &&key_hash.0[..],
            &sensor.tenant.as_str(),
            &sensor.id.as_str(),
            &tally_protocol::now_ms(),
        ],
    )
    .await
    .map_err(|e| {
        insert_error(e, |v| match v {
            Violation::Unique => exists("sensor key", &key_hash.hex()),
            Violation::ForeignKey => None,
        })
    })?;
    tx.commit().await.map_err(pg)
}

/// Sensors of a tenant: one by id, or every sensor of a room ordered by id.
pub(super) async fn sensors(
    inner: &Inner,
    tenant: &TenantId,
    filter: SensorFilter<'_>,
) -> Result<Vec<Sensor>, StoreError> {
    const COLUMNS: &str = "SELECT tenant_id, office_id, room_id, sensor_id FROM sensors";
    let rows = match filter {
        SensorFilter::Id(sensor) => {
            let sql = format!("{COLUMNS} WHERE tenant_id = $1 AND sensor_id = $2");
            query(inner, tenant, &sql, &[&tenant.as_str(), &sensor.as_str()]).await?
        }
        SensorFilter::Room(room) => {
            let sql = format!("{COLUMNS} WHERE tenant_id = $1 AND room_id = $2 ORDER BY sensor_id");
            query(inner, tenant, &sql, &[&tenant.as_str(), &room.as_str()]).await?
        }
    };
    rows.iter().map(sensor_row).collect()
}

/// Which sensors [`sensors`] reads.
#[derive(Debug, Clone, Copy)]
pub(super) enum SensorFilter<'a> {
    /// One sensor by id.
    Id(&'a SensorId),
    /// Every sensor of a room.
    Room(&'a RoomId),
}

/// The sensor a key hash belongs to, if the key is valid at `now`: `sensor_by_key_hash()`
/// names its tenant (and the key's expiry), then the sensor is read in a transaction set to
/// that tenant.
pub(super) async fn sensor_by_key_hash(
    inner: &Inner,
    key_hash: &KeyHash,
    now: TimestampMs,
) -> Result<Option<Sensor>, StoreError> {
    let row = {
        let client = inner.client().await?;
        client
            .query_opt(
                "SELECT tenant_id, sensor_id, expires_at FROM sensor_by_key_hash($1)",
                &[&&key_hash.0[..]],
            )
            .await
            .map_err(pg)?
    };
    let Some(row) = row else {
        return Ok(None);
    };
    let expires_at: Option<i64> = row.try_get(2).map_err(pg)?;
    if expires_at.is_some_and(|expires_at| now >= expires_at) {
        return Ok(None);
    }
    let (tenant, sensor) = (id(&row, 0, TenantId::new)?, id(&row, 1, SensorId::new)?);
    match sensors(inner, &tenant, SensorFilter::Id(&sensor))
        .await?
        .pop()
    {
        Some(found) => Ok(Some(found)),
        None => Err(corrupt(format!(
            "sensor key {} points to missing sensor {tenant}/{sensor}",
            key_hash.hex()
        ))),
    }
}

/// Parses the id in column `index`.
pub(super) fn id<T, E: std::fmt::Display>(
    row: &Row,
    index: usize,
    parse: impl Fn(String) -> Result<T, E>,
) -> Result<T, StoreError> {
    let value: String = row.try_get(index).map_err(pg)?;
    parse(value.clone()).map_err(|e| corrupt(format!("stored id {value:?}: {e}")))
}

fn tenant_row(row: &Row) -> Result<Tenant, StoreError> {
    Ok(Tenant {
        id: id(row, 0, TenantId::new)?,
        name: row.try_get(1).map_err(pg)?,
    })
}

fn room_row(row: &Row) -> Result<Room, StoreError> {
    let capacity: i64 = row.try_get(4).map_err(pg)?;
    let mode: String = row.try_get(5).map_err(pg)?;
    Ok(Room {
        tenant: id(row, 0, TenantId::new)?,
        office: id(row, 1, OfficeId::new)?,
        id: id(row, 2, RoomId::new)?,
        name: row.try_get(3).map_err(pg)?,
        capacity: u32::try_from(capacity)
            .map_err(|_| corrupt(format!("room capacity {capacity} out of range")))?,
        count_mode: CountMode::from_name(&mode)
            .ok_or_else(|| corrupt(format!("unknown count mode {mode:?}")))?,
    })
}

fn sensor_row(row: &Row) -> Result<Sensor, StoreError> {
    Ok(Sensor {
        tenant: id(row, 0, TenantId::new)?,
        office: id(row, 1, OfficeId::new)?,
        room: id(row, 2, RoomId::new)?,
        id: id(row, 3, SensorId::new)?,
    })
}
