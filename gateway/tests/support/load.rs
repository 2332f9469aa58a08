//! Sensors that keep sending through outages, as real sensors do: each reconnects whenever it is
//! closed or refused, resends everything after `welcome.last_seq`, and records the highest seq
//! the node acknowledged, so that a test can check every acknowledged reading against storage.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tally_protocol::{Codec, Reading, ServerFrame};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{Next, PATIENCE, SensorClient, now_ms};

/// Readings per frame.
const BATCH: u64 = 5;
/// Wait before reconnecting after a refusal: a client's backoff, not a synchronisation.
const RECONNECT_BACKOFF: Duration = Duration::from_millis(50);

/// The count a sensor sends with `seq` (the store is checked against it).
pub fn count_for(seq: u64) -> i64 {
    (seq % 37) as i64
}

/// What a running [`LoadSensor`] has seen so far.
#[derive(Debug, Default)]
pub struct Seen {
    /// Highest seq acknowledged.
    pub acked: AtomicU64,
    /// Connections closed or refused by the node.
    pub refused: AtomicU64,
}

/// A sensor sending one frame at a time, forever, until stopped.
pub struct LoadSensor {
    pub seen: Arc<Seen>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl LoadSensor {
    /// Starts sending as the sensor with `key`.
    pub fn spawn(addr: SocketAddr, key: String) -> Self {
        Self::spawn_any(vec![addr], key)
    }

    /// Starts sending as the sensor with `key` to the first of `addrs`; after each close or
    /// refusal it reconnects to the next one (round robin), as behind a load balancer.
    pub fn spawn_any(addrs: Vec<SocketAddr>, key: String) -> Self {
        let seen = Arc::new(Seen::default());
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(addrs, key, seen.clone(), stopped));
        Self { seen, stop, task }
    }

    /// Highest seq acknowledged so far.
    pub fn acked(&self) -> u64 {
        self.seen.acked.load(Ordering::SeqCst)
    }

    /// Connections closed or refused so far.
    pub fn refused(&self) -> u64 {
        self.seen.refused.load(Ordering::SeqCst)
    }

    /// Stops sending; returns the highest seq acknowledged.
    pub async fn stop(self) -> u64 {
        self.stop.send_replace(true);
        let acked = self.seen.clone();
        self.task.await.expect("sensor task did not panic");
        acked.acked.load(Ordering::SeqCst)
    }
}

async fn run(addrs: Vec<SocketAddr>, key: String, seen: Arc<Seen>, stopped: watch::Receiver<bool>) {
    // A reading is what it is: resent after an outage it carries the time it was first sent
    // with, as a real sensor's buffered readings do (until acknowledged, kept here by seq).
    let mut first_sent: BTreeMap<u64, i64> = BTreeMap::new();
    for addr in addrs.iter().cycle() {
        if *stopped.borrow() {
            break;
        }
        let mut sensor = match SensorClient::try_connect(*addr, &key, Codec::MsgPack).await {
            Ok(sensor) => sensor,
            Err(_) => {
                seen.refused.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(RECONNECT_BACKOFF).await;
                continue;
            }
        };
        let acked = seen.acked.load(Ordering::SeqCst);
        assert!(
            sensor.last_seq >= acked,
            "welcome.last_seq {} is below the acknowledged {acked}",
            sensor.last_seq
        );
        // Resend everything after the durable mark, then go on.
        let mut next = sensor.last_seq + 1;
        while !*stopped.borrow() {
            let items: Vec<Reading> = (next..next + BATCH)
                .map(|seq| Reading {
                    seq,
                    ts: *first_sent.entry(seq).or_insert_with(now_ms),
                    count: count_for(seq),
                })
                .collect();
            next += BATCH;
            sensor.send(items).await;
            match sensor.next().await {
                Next::Frame(ServerFrame::Ack { up_to_seq }) => {
                    assert!(up_to_seq < next, "ack {up_to_seq} for readings never sent");
                    seen.acked.fetch_max(up_to_seq, Ordering::SeqCst);
                    first_sent = first_sent.split_off(&(up_to_seq + 1));
                }
                Next::Closed(_) => {
                    seen.refused.fetch_add(1, Ordering::SeqCst);
                    break;
                }
                Next::Frame(other) => panic!("unexpected frame {other:?}"),
            }
        }
    }
}

/// Polls `condition` until it holds; fails the test after [`PATIENCE`] (times two: outages and
/// recoveries take a few retries) naming `what`.
pub async fn eventually(what: &str, mut condition: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + 2 * PATIENCE;
    while !condition().await {
        assert!(Instant::now() < deadline, "gave up waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
