//! `noisy-neighbour`: tenant B's sensor→ack latency while tenant A floods the node, with A's
//! quotas on and off, and while A also storms the node with connections from its own source
//! address (`storm.rs`), each against a quiet baseline measured in the same run. See
//! `benches/README.md`.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use futures::{SinkExt, StreamExt};
use tally_config::Settings;
use tally_protocol::{Codec, Reading, SUBPROTOCOL_MSGPACK, SensorFrame, ServerFrame};
use tokio_tungstenite::tungstenite::Message;

use crate::provision::provision;
use crate::stats::{Latency, LatencySummary};
use crate::storm::{Storm, StormFigures, storm};
use crate::ws::{Ws, connect_from};

/// Admin token of the nodes this benchmark starts.
const ADMIN_TOKEN: &str = "noisy-neighbour-admin-token";
/// Readings per flooding frame (the default `ingest.max_batch_items`).
const FLOOD_BATCH: u64 = 500;

/// One measured phase: what A did and B's ack latency meanwhile.
#[derive(Debug, Clone, Copy)]
pub struct Phase {
    /// B's ack latency in milliseconds.
    pub ack_ms: LatencySummary,
    /// Readings of A the node acknowledged during the phase.
    pub flood_acked: u64,
    /// Connections of A the node closed with 4429 `rate_limited`.
    pub flood_rate_limited: u64,
}

/// Starts a node with `settings` (data in a temp dir, a free port), provisions tenant A with
/// `flooders` sensors and tenant B with one, lets A's sensors flood (when `flooders > 0`) and
/// times `rounds` round trips of B (one reading, wait for its ack) after `rounds / 10` unmeasured.
///
/// # Errors
/// If the node does not start, provisioning fails, or B's connection fails.
pub async fn phase(settings: Settings, flooders: u32, rounds: u32) -> anyhow::Result<Phase> {
    Ok(phase_with(settings, flooders, rounds, None).await?.0)
}

/// [`phase`] with A also storming the node with connections and HTTP batches (`storm`), all of
/// A (its flooders too) from `storm.source`; what the node refused A meanwhile.
///
/// # Errors
/// As [`phase`].
pub async fn storm_phase(
    settings: Settings,
    flooders: u32,
    rounds: u32,
    storm: Storm,
) -> anyhow::Result<(Phase, StormFigures)> {
    let (phase, figures) = phase_with(settings, flooders, rounds, Some(storm)).await?;
    Ok((phase, figures.unwrap_or_default()))
}

async fn phase_with(
    mut settings: Settings,
    flooders: u32,
    rounds: u32,
    attack: Option<Storm>,
) -> anyhow::Result<(Phase, Option<StormFigures>)> {
    let dir = tempfile::tempdir()?;
    settings.node.data_dir = dir.path().to_owned();
    settings.node.http_addr = "127.0.0.1:0".parse()?;
    settings.auth.admin_token = Some(ADMIN_TOKEN.to_owned());
    let node = tally_gateway::start(settings).await?;
    let url = format!("http://{}", node.addr());
    let ws_url = format!("ws://{}/v1/sensors/connect", node.addr());
    // With a storm, A has one more sensor: the one its HTTP batches come from.
    let sensors = flooders + u32::from(attack.is_some());
    let noisy = provision(&url, ADMIN_TOKEN, sensors, sensors.max(1)).await?;
    let quiet = provision(&url, ADMIN_TOKEN, 1, 1).await?;

    let stop = Arc::new(AtomicBool::new(false));
    let (acked, limited) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let flood: Vec<_> = noisy
        .sensors
        .iter()
        .take(flooders as usize)
        .map(|sensor| {
            let (url, key) = (ws_url.clone(), sensor.key.clone());
            let (stop, acked, limited) = (stop.clone(), acked.clone(), limited.clone());
            let source = attack.as_ref().map(|storm| storm.source);
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    match flood_once(&url, &key, source, &stop, &acked).await {
                        Ok(Some(4429)) => limited.fetch_add(1, Ordering::Relaxed),
                        _ => 0,
                    };
                }
            })
        })
        .collect();
    let keys: Vec<String> = noisy.sensors.iter().map(|s| s.key.clone()).collect();
    let storming =
        attack.map(|attack| tokio::spawn(storm(attack, url, ws_url.clone(), keys, stop.clone())));

    let measured = time_round_trips(&ws_url, &quiet.sensors[0].key, rounds).await;
    stop.store(true, Ordering::Relaxed);
    for task in flood {
        task.await?;
    }
    let figures = match storming {
        Some(task) => Some(task.await??),
        None => None,
    };
    node.stop().await;
    let phase = Phase {
        ack_ms: measured?.summary(1000.0),
        flood_acked: acked.load(Ordering::Relaxed),
        flood_rate_limited: limited.load(Ordering::Relaxed),
    };
    Ok((phase, figures))
}

/// B: one reading at a time, each waiting for its ack; latencies in µs.
async fn time_round_trips(url: &str, key: &str, rounds: u32) -> anyhow::Result<Latency> {
    let (mut ws, mut seq) = hello(url, key).await?;
    let mut latency = Latency::new();
    let warmup = rounds / 10;
    for round in 0..warmup + rounds {
        seq += 1;
        let started = Instant::now();
        send(&mut ws, readings(seq, 1)).await?;
        loop {
            match next_frame(&mut ws).await? {
                ServerFrame::Ack { up_to_seq } if up_to_seq >= seq => break,
                ServerFrame::Ack { .. } => {}
                other => bail!("tenant B got {other:?} instead of its ack"),
            }
        }
        if round >= warmup {
            latency.record(i64::try_from(started.elapsed().as_micros()).unwrap_or(i64::MAX));
        }
    }
    Ok(latency)
}

/// A: one connection sending frames back to back (reading acks as they come) until the node
/// closes it or `stop` is set; the close code.
async fn flood_once(
    url: &str,
    key: &str,
    source: Option<IpAddr>,
    stop: &AtomicBool,
    acked: &AtomicU64,
) -> anyhow::Result<Option<u16>> {
    let (ws, mut seq) = hello_from(url, key, source).await?;
    let (mut sink, mut stream) = ws.split();
    let mut last_ack = seq;
    while !stop.load(Ordering::Relaxed) {
        let frame = Codec::MsgPack.encode(&readings(seq + 1, FLOOD_BATCH));
        tokio::select! {
            sent = sink.send(Message::Binary(frame.into())) => {
                sent?;
                seq += FLOOD_BATCH;
            }
            message = stream.next() => match message {
                Some(Ok(Message::Binary(bytes))) => {
                    if let Ok(ServerFrame::Ack { up_to_seq }) = Codec::MsgPack.decode(&bytes, &Default::default()) {
                        acked.fetch_add(up_to_seq - last_ack, Ordering::Relaxed);
                        last_ack = up_to_seq;
                    }
                }
                Some(Ok(Message::Close(frame))) => return Ok(frame.map(|f| u16::from(f.code))),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Ok(None),
            },
        }
    }
    Ok(None)
}

/// Connects a sensor and says hello: the socket and `welcome.last_seq`.
pub(crate) async fn hello(url: &str, key: &str) -> anyhow::Result<(Ws, u64)> {
    hello_from(url, key, None).await
}

/// [`hello`] from the local address `source`, if given.
async fn hello_from(url: &str, key: &str, source: Option<IpAddr>) -> anyhow::Result<(Ws, u64)> {
    let mut ws = connect_from(url, SUBPROTOCOL_MSGPACK, source)
        .await
        .map_err(|f| anyhow::anyhow!("connect: {f:?}"))?;
    send(
        &mut ws,
        SensorFrame::Hello {
            key: key.to_owned(),
        },
    )
    .await?;
    match next_frame(&mut ws).await? {
        ServerFrame::Welcome { last_seq, .. } => Ok((ws, last_seq)),
        other => bail!("expected welcome, got {other:?}"),
    }
}

/// Sends one sensor frame (MessagePack).
pub(crate) async fn send(ws: &mut Ws, frame: SensorFrame) -> anyhow::Result<()> {
    let bytes = Codec::MsgPack.encode(&frame);
    ws.send(Message::Binary(bytes.into())).await?;
    Ok(())
}

/// A `readings` frame of `count` readings from seq `first` (see [`reading_items`]).
pub(crate) fn readings(first: u64, count: u64) -> SensorFrame {
    SensorFrame::Readings {
        items: reading_items(first, count),
    }
}

/// `count` readings from seq `first`, each counting 1, stamped now.
pub(crate) fn reading_items(first: u64, count: u64) -> Vec<Reading> {
    let ts = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    (first..first + count)
        .map(|seq| Reading { seq, ts, count: 1 })
        .collect()
}

/// The next server frame (pings skipped); an error on close or after 30 s.
pub(crate) async fn next_frame(ws: &mut Ws) -> anyhow::Result<ServerFrame> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .context("no frame within 30 s")?;
        match message {
            Some(Ok(Message::Binary(bytes))) => {
                return Ok(Codec::MsgPack.decode(&bytes, &Default::default())?);
            }
            Some(Ok(Message::Close(frame))) => bail!("closed: {frame:?}"),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
            None => bail!("connection ended"),
        }
    }
}
