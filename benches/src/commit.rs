//! Group-commit throughput of a store: the persister's write pattern (one `write_batch` holding
//! many rooms' readings and states) timed against each backend in the same run, so the figures
//! compare as ratios on a shared, noisy machine.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use tally_protocol::{OfficeId, RoomId, SensorId, TenantId};
use tally_storage::{
    Office, RoomState, RoomWrite, SensorState, Store, StoredReading, Tenant, WriteBatch,
};

use crate::sensor::now_ms;
use crate::stats::{Latency, LatencySummary};

/// The shape of one group commit.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CommitShape {
    /// Group commits written, one after another (the persister keeps one write in flight).
    pub commits: u32,
    /// Rooms in each commit (each with its state row).
    pub rooms: u32,
    /// Readings of each room in each commit.
    pub readings_per_room: u32,
}

/// What one backend achieved.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CommitFigures {
    /// Readings durably stored per second over the whole sequence.
    pub readings_per_s: f64,
    /// Latency of one group commit, in milliseconds.
    pub commit_ms: LatencySummary,
}

/// Writes `shape.commits` group commits into a fresh tenant of `store` and times them.
///
/// # Errors
/// If the tenant cannot be created or a write fails.
pub async fn group_commits(
    store: &dyn Store,
    tenant: &str,
    shape: CommitShape,
) -> anyhow::Result<CommitFigures> {
    let tenant = TenantId::new(tenant)?;
    let office = OfficeId::new("hq")?;
    store
        .create_tenant(&Tenant {
            id: tenant.clone(),
            name: "group-commit bench".into(),
        })
        .await?;
    store
        .create_office(&Office {
            tenant: tenant.clone(),
            id: office.clone(),
            name: "hq".into(),
        })
        .await?;
    let sensor = SensorId::new("s-1")?;
    let rooms: Vec<RoomId> = (0..shape.rooms)
        .map(|i| RoomId::new(format!("r-{i}")))
        .collect::<Result<_, _>>()?;
    let mut latency = Latency::new();
    let started = Instant::now();
    let mut seq = 0u64;
    for _ in 0..shape.commits {
        let first = seq + 1;
        seq += u64::from(shape.readings_per_room);
        let ts = now_ms();
        let writes = rooms
            .iter()
            .map(|room| room_write(&tenant, &office, room, &sensor, first..=seq, ts))
            .collect();
        let commit = Instant::now();
        store
            .write_batch(Arc::new(WriteBatch { rooms: writes }))
            .await?;
        latency.record(i64::try_from(commit.elapsed().as_micros()).unwrap_or(i64::MAX));
    }
    let readings = f64::from(shape.commits) * f64::from(shape.rooms * shape.readings_per_room);
    Ok(CommitFigures {
        readings_per_s: readings / started.elapsed().as_secs_f64(),
        commit_ms: latency.summary(1000.0),
    })
}

/// One room's rows: readings `seqs` at `ts` and the state with its dedup mark.
fn room_write(
    tenant: &TenantId,
    office: &OfficeId,
    room: &RoomId,
    sensor: &SensorId,
    seqs: std::ops::RangeInclusive<u64>,
    ts: i64,
) -> RoomWrite {
    let last_seq = *seqs.end();
    let readings = seqs
        .map(|seq| {
            let reading = StoredReading {
                seq,
                ts,
                count: 1,
                received_at: ts,
            };
            (sensor.clone(), reading)
        })
        .collect();
    let mut sensors = BTreeMap::new();
    sensors.insert(
        sensor.clone(),
        SensorState {
            last_seq,
            count: 1,
            ts,
            received_at: ts,
        },
    );
    RoomWrite {
        tenant: tenant.clone(),
        office: office.clone(),
        room: room.clone(),
        owner_token: 0,
        readings,
        state: RoomState {
            count: 1,
            ts,
            sensors,
            rollups: None,
        },
        rollups: Vec::new(),
    }
}
