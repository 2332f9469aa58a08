//! The connection storm of `noisy-neighbour`: tenant A, from its own source address, opens
//! sensor sockets beyond its connection quota (`quotas.max_connections`) and faster than the
//! per-source connection rate (`http.connection_rate_per_source`), holding those the node
//! welcomes, and posts HTTP batches beyond its readings rate; counted by how the node refused
//! them. See `benches/README.md`.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use tally_protocol::{Codec, ReadingBatch, SUBPROTOCOL_MSGPACK, SensorFrame, ServerFrame};
use tokio_tungstenite::tungstenite::Message;

use crate::noisy::{reading_items, send};
use crate::ws::{Ws, connect_from};

/// Readings per HTTP batch of the storm.
const HTTP_BATCH: u64 = 100;

/// What tenant A does besides flooding.
#[derive(Debug, Clone, Copy)]
pub struct Storm {
    /// A's source address (another loopback address than the node's other clients).
    pub source: IpAddr,
    /// Tasks opening sensor sockets, each one attempt after the other.
    pub connectors: u32,
    /// Connection attempts per second of all connectors together.
    pub attempts_per_second: u32,
    /// HTTP batches per second (`POST /v1/readings`, on one keep-alive connection).
    pub batches_per_second: u32,
}

/// How the node answered A's storm.
#[derive(Debug, Clone, Default)]
pub struct StormFigures {
    /// Sockets the node welcomed (A's connection quota not reached); held open.
    pub welcomed: u64,
    /// Sockets closed right after `hello`, by close code (4429: A's connection quota).
    pub closed_after_hello: BTreeMap<u16, u64>,
    /// Upgrades that failed, by failure code: `handshake_failed` or `connect_failed` when the
    /// node closed the connection as it accepted it (the per-source rate or bound),
    /// `http_<status>_<code>` when it answered the upgrade with an error.
    pub refused_upgrades: BTreeMap<String, u64>,
    /// HTTP batches, by answer status.
    pub http_statuses: BTreeMap<u16, u64>,
    /// Smallest and largest `Retry-After` (seconds) of the 429 answers.
    pub retry_after: Option<(u64, u64)>,
}

type Shared = Arc<Mutex<StormFigures>>;

/// Runs the storm against the node at `url` / `ws_url` with A's sensor `keys` (the last one's
/// HTTP batches) until `stop`; the figures.
///
/// # Errors
/// If the HTTP client cannot be built.
pub(crate) async fn storm(
    storm: Storm,
    url: String,
    ws_url: String,
    keys: Vec<String>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<StormFigures> {
    let figures = Shared::default();
    let connectors = storm.connectors.max(1);
    let period = (Duration::from_secs(1) * connectors / storm.attempts_per_second.max(1))
        .max(Duration::from_micros(1));
    let tasks: Vec<_> = (0..connectors)
        .map(|n| {
            let (ws_url, keys) = (ws_url.clone(), keys.clone());
            let (stop, figures) = (stop.clone(), figures.clone());
            let first = usize::try_from(n).unwrap_or(0);
            tokio::spawn(async move {
                connect_in_a_loop(&ws_url, &keys, first, storm.source, period, &stop, &figures)
                    .await;
            })
        })
        .collect();
    let key = keys.last().cloned().unwrap_or_default();
    post_in_a_loop(&url, &key, storm, &stop, &figures).await?;
    for task in tasks {
        task.await?;
    }
    Ok(lock(&figures).clone())
}

/// One connector: a sensor socket every `period`, with A's keys in turn, from `source`.
async fn connect_in_a_loop(
    url: &str,
    keys: &[String],
    first: usize,
    source: IpAddr,
    period: Duration,
    stop: &AtomicBool,
    figures: &Shared,
) {
    let mut held: Vec<Ws> = Vec::new();
    let mut pace = tokio::time::interval(period);
    for key in keys.iter().cycle().skip(first) {
        pace.tick().await;
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let mut ws = match connect_from(url, SUBPROTOCOL_MSGPACK, Some(source)).await {
            Ok(ws) => ws,
            Err(failure) => {
                *lock(figures)
                    .refused_upgrades
                    .entry(failure.code)
                    .or_default() += 1;
                continue;
            }
        };
        let hello = SensorFrame::Hello { key: key.clone() };
        if send(&mut ws, hello).await.is_err() {
            *lock(figures)
                .refused_upgrades
                .entry("send_failed".to_owned())
                .or_default() += 1;
            continue;
        }
        match answer_to_hello(&mut ws).await {
            None => {
                lock(figures).welcomed += 1;
                held.push(ws);
            }
            Some(code) => *lock(figures).closed_after_hello.entry(code).or_default() += 1,
        }
    }
}

/// `None` for `welcome`, else the close code (0 for a socket that ended without one).
async fn answer_to_hello(ws: &mut Ws) -> Option<u16> {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
            Ok(Some(Ok(Message::Binary(bytes)))) => {
                match Codec::MsgPack.decode::<ServerFrame>(&bytes, &Default::default()) {
                    Ok(ServerFrame::Welcome { .. }) => return None,
                    _ => return Some(0),
                }
            }
            Ok(Some(Ok(Message::Close(frame)))) => {
                return Some(frame.map_or(0, |f| u16::from(f.code)));
            }
            Ok(Some(Ok(_))) => {}
            _ => return Some(0),
        }
    }
}

/// HTTP batches of `key`'s sensor from `source`, at `storm.batches_per_second`, until `stop`.
async fn post_in_a_loop(
    url: &str,
    key: &str,
    storm: Storm,
    stop: &AtomicBool,
    figures: &Shared,
) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .local_address(storm.source)
        .timeout(Duration::from_secs(30))
        .build()?;
    let mut pace = tokio::time::interval(
        (Duration::from_secs(1) / storm.batches_per_second.max(1)).max(Duration::from_micros(1)),
    );
    let mut seq = 0;
    while !stop.load(Ordering::Relaxed) {
        pace.tick().await;
        let Ok(response) = http
            .post(format!("{url}/v1/readings"))
            .bearer_auth(key)
            .json(&ReadingBatch {
                items: reading_items(seq + 1, HTTP_BATCH),
            })
            .send()
            .await
        else {
            *lock(figures).http_statuses.entry(0).or_default() += 1;
            continue;
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        let mut figures = lock(figures);
        *figures.http_statuses.entry(status).or_default() += 1;
        if status == 200 {
            seq += HTTP_BATCH;
        }
        if let Some(secs) = retry_after.filter(|_| status == 429) {
            let (low, high) = figures.retry_after.unwrap_or((secs, secs));
            figures.retry_after = Some((low.min(secs), high.max(secs)));
        }
    }
    Ok(())
}

/// Locks the figures (a panicked task leaves them valid).
fn lock(figures: &Shared) -> std::sync::MutexGuard<'_, StormFigures> {
    figures.lock().unwrap_or_else(PoisonError::into_inner)
}
