//! `cluster-failover`: on a three-node cluster (real `tally` processes, PostgreSQL, Redis), the
//! time from `kill -9` of an office's owner to the first reading accepted for that office, and
//! readings per second through a node that does not own the office (forwarded to its owner)
//! against through the owner, measured in one run. See `benches/README.md`.

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use tally_protocol::{Codec, ServerFrame};
use tokio_tungstenite::tungstenite::Message;

use crate::cluster_rig::{ADMIN_TOKEN, ClusterRig};
use crate::noisy::{hello, next_frame, readings, send};
use crate::provision::{OFFICE, provision};

/// Wait before a sensor reconnects after a refusal (a client's backoff).
const RECONNECT_BACKOFF: Duration = Duration::from_millis(20);
/// Fresh tenants tried before one's office lands on the wanted node.
const PLACEMENT_TRIES: usize = 64;

/// Provisions fresh tenants (one office, `sensors` rooms and sensors) through node `via` until
/// one's office is owned by node `owner`; its sensor keys and tenant.
async fn fleet_owned_by(
    rig: &ClusterRig,
    via: usize,
    owner: usize,
    sensors: u32,
) -> anyhow::Result<(String, Vec<String>)> {
    for _ in 0..PLACEMENT_TRIES {
        let fleet = provision(&rig.url(via), ADMIN_TOKEN, sensors, sensors).await?;
        if rig.owner(&fleet.tenant, OFFICE)? == owner {
            let keys = fleet.sensors.into_iter().map(|s| s.key).collect();
            return Ok((fleet.tenant, keys));
        }
    }
    anyhow::bail!("no office placed on node {owner} in {PLACEMENT_TRIES} tenants")
}

/// Sends the next reading of the sensor with `key` through `url` and waits for its ack: Ok
/// once acknowledged, an error if the node refused or closed.
async fn one_reading(url: &str, key: &str) -> anyhow::Result<()> {
    let (mut ws, last_seq) = hello(url, key).await?;
    send(&mut ws, readings(last_seq + 1, 1)).await?;
    match next_frame(&mut ws).await? {
        ServerFrame::Ack { up_to_seq } if up_to_seq > last_seq => Ok(()),
        other => anyhow::bail!("expected an ack, got {other:?}"),
    }
}

/// One failover: an office owned by node `victim`, its sensor on another node; `kill -9` the
/// victim and time until a reading for the office is acknowledged again (the sensor retries
/// through the survivors, as behind a load balancer). The victim is restarted afterwards.
///
/// # Errors
/// If provisioning or the restart fails.
pub async fn failover_once(rig: &mut ClusterRig, victim: usize) -> anyhow::Result<Duration> {
    let survivors = [(victim + 1) % 3, (victim + 2) % 3];
    let (_, keys) = fleet_owned_by(rig, survivors[0], victim, 1).await?;
    let key = &keys[0];
    for _ in 0..3 {
        one_reading(&rig.sensor_url(survivors[0]), key).await?;
    }
    let killed = Instant::now();
    rig.kill9(victim).await;
    for attempt in 0.. {
        let url = rig.sensor_url(survivors[attempt % 2]);
        if one_reading(&url, key).await.is_ok() {
            break;
        }
        tokio::time::sleep(RECONNECT_BACKOFF).await;
    }
    let took = killed.elapsed();
    rig.restart(victim).await?;
    Ok(took)
}

/// How hard the throughput phases drive.
#[derive(Debug, Clone, Copy)]
pub struct IngestShape {
    /// Sensors, one room each, all in one office.
    pub sensors: u32,
    /// Readings per frame.
    pub batch: u64,
    /// Frames a sensor has unacknowledged at most.
    pub window: u64,
    /// Length of one phase.
    pub duration: Duration,
}

/// Readings per second acknowledged through node `via` for `keys` (each sensor sending frames
/// of `batch` with `window` in flight) during `duration`.
async fn ingest_rate(
    rig: &ClusterRig,
    via: usize,
    keys: &[String],
    shape: IngestShape,
) -> anyhow::Result<f64> {
    let url = rig.sensor_url(via);
    let started = Instant::now();
    let deadline = started + shape.duration;
    let mut sensors = tokio::task::JoinSet::new();
    for key in keys {
        let (ws, first) = hello(&url, key).await?;
        sensors.spawn(async move {
            let (mut sink, mut stream) = ws.split();
            let (mut sent, mut acked) = (first, first);
            loop {
                while sent - acked < shape.window * shape.batch && Instant::now() < deadline {
                    let frame = Codec::MsgPack.encode(&readings(sent + 1, shape.batch));
                    sink.send(Message::Binary(frame.into())).await?;
                    sent += shape.batch;
                }
                if sent == acked {
                    return anyhow::Ok(acked - first);
                }
                match stream.next().await {
                    Some(Ok(Message::Binary(bytes))) => {
                        if let ServerFrame::Ack { up_to_seq } =
                            Codec::MsgPack.decode(&bytes, &Default::default())?
                        {
                            acked = acked.max(up_to_seq);
                        }
                    }
                    Some(Ok(Message::Close(frame))) => anyhow::bail!("closed: {frame:?}"),
                    Some(Ok(_)) => {}
                    Some(Err(error)) => return Err(error.into()),
                    None => anyhow::bail!("connection ended"),
                }
            }
        });
    }
    let mut total = 0;
    while let Some(done) = sensors.join_next().await {
        total += done??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// Readings/s through the owner of one office, then through a node that forwards to it, in
/// `rounds` alternating rounds: `(through the owner, forwarded)` per round.
///
/// # Errors
/// If provisioning fails or a sensor is refused or closed.
pub async fn forwarding_rates(
    rig: &ClusterRig,
    shape: IngestShape,
    rounds: u32,
) -> anyhow::Result<Vec<(f64, f64)>> {
    let owner = 0;
    let (_, keys) = fleet_owned_by(rig, owner, owner, shape.sensors).await?;
    let forwarder = 1;
    let mut figures = Vec::new();
    for _ in 0..rounds {
        let direct = ingest_rate(rig, owner, &keys, shape).await?;
        let forwarded = ingest_rate(rig, forwarder, &keys, shape).await?;
        figures.push((direct, forwarded));
    }
    Ok(figures)
}

/// The median of `values` (the mean of the middle two for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}
