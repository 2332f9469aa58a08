//! The bare durable write: sequential one-reading `write_batch` calls on an `EmbeddedStore` in a
//! temporary directory on the system temp filesystem (where a node started with
//! `TALLY_NODE__DATA_DIR=$(mktemp -d)` keeps its data). Every call is one fsynced fjall batch, so
//! this is the floor one unbatched acknowledgement would cost; the node's group commit should
//! beat it on throughput.

use std::sync::Arc;
use std::{collections::BTreeMap, time::Instant};

use anyhow::Context;
use serde::Serialize;
use tally_protocol::{OfficeId, RoomId, SensorId, TenantId};
use tally_storage::{
    EmbeddedStore, RoomState, RoomWrite, SensorState, Store, StoredReading, WriteBatch,
};

use crate::{
    sensor::now_ms,
    stats::{Latency, LatencySummary},
};

/// The baseline's figures.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct BaselineFigures {
    /// `write_batch` calls made.
    pub writes: u32,
    /// Latency of one call, in milliseconds.
    pub latency_ms: LatencySummary,
    /// Calls per second over the whole sequence.
    pub writes_per_s: f64,
}

/// Times `writes` sequential `write_batch` calls of one reading each (with the room state, as the
/// persister writes it).
///
/// # Errors
/// If the temporary store cannot be created or a write fails.
pub(crate) async fn bare_durable_writes(writes: u32) -> anyhow::Result<BaselineFigures> {
    let dir = tempfile::Builder::new()
        .prefix("tally-load-baseline-")
        .tempdir_in(std::env::temp_dir())
        .context("creating the baseline store's directory")?;
    let store = EmbeddedStore::open(dir.path()).context("opening the baseline store")?;
    let tenant = TenantId::new("baseline")?;
    let room = RoomId::new("r-1")?;
    let office = OfficeId::new("o-1")?;
    let sensor = SensorId::new("s-1")?;
    let mut latency = Latency::new();
    let started = Instant::now();
    for seq in 1..=u64::from(writes) {
        let ts = now_ms();
        let count = u32::try_from(seq % 2).unwrap_or(0);
        let reading = StoredReading {
            seq,
            ts,
            count,
            received_at: ts,
        };
        let state = RoomState {
            count,
            ts,
            sensors: BTreeMap::from([(
                sensor.clone(),
                SensorState {
                    last_seq: seq,
                    count,
                    ts,
                    received_at: ts,
                },
            )]),
            rollups: None,
        };
        let batch = WriteBatch {
            rooms: vec![RoomWrite {
                tenant: tenant.clone(),
                office: office.clone(),
                room: room.clone(),
                owner_token: 0,
                readings: vec![(sensor.clone(), reading)],
                state,
                rollups: Vec::new(),
            }],
        };
        let call = Instant::now();
        store
            .write_batch(Arc::new(batch))
            .await
            .with_context(|| format!("baseline write {seq}"))?;
        latency.record(i64::try_from(call.elapsed().as_micros()).unwrap_or(i64::MAX));
    }
    let elapsed = started.elapsed().as_secs_f64();
    drop(store);
    Ok(BaselineFigures {
        writes,
        latency_ms: latency.summary(1000.0),
        writes_per_s: if elapsed > 0.0 {
            f64::from(writes) / elapsed
        } else {
            0.0
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn measures_a_few_writes() {
        let figures = bare_durable_writes(5).await.unwrap();
        assert_eq!((figures.writes, figures.latency_ms.count), (5, 5));
        assert!(
            figures.writes_per_s > 0.0 && figures.latency_ms.p50 > 0.0,
            "{figures:?}"
        );
    }
}
