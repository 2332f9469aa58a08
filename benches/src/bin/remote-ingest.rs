//! `remote-ingest`: readings per second through a remote room handle (forwarded over the
//! inter-node transport to the office's owner, a `tally-transport-node` process) against a
//! local room handle of this process's own node, measured in one run and reported as a ratio.
//! Both nodes write to an embedded store on the same disk. See `benches/README.md`.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use tally_cluster::{LocalRouter, Node, Peer, RoomHandle, Router, Transport, TransportSettings};
use tally_config::Settings;
use tally_protocol::{OfficeId, Reading, RoomId, SensorId, TenantId, now_ms};
use tally_storage::EmbeddedStore;
use tally_storage::conformance::support::{add_office, add_room, add_tenant, unique};
use tokio::io::{AsyncBufReadExt, BufReader};

/// Drives sensors through local and remote room handles in turn.
#[derive(Debug, Clone, Copy, Parser)]
struct Args {
    /// Sensors, one room each, sending at once.
    #[arg(long, default_value_t = 20)]
    sensors: u64,
    /// Batches per sensor.
    #[arg(long, default_value_t = 200)]
    batches: u64,
    /// Readings per batch.
    #[arg(long, default_value_t = 10)]
    batch: u64,
    /// Batches a sensor has in flight before it awaits the oldest ack (like a connection's
    /// window).
    #[arg(long, default_value_t = 8)]
    window: usize,
    /// Rounds of local-then-remote, to see the spread.
    #[arg(long, default_value_t = 3)]
    rounds: u32,
}

/// A tenant with one office of `rooms` rooms in `store`.
async fn seed(store: &EmbeddedStore, rooms: u64) -> (TenantId, OfficeId, Vec<RoomId>) {
    let tenant = add_tenant(store, &unique("tenant")).await;
    let office = add_office(store, &tenant, &unique("office")).await;
    let mut ids = Vec::new();
    for _ in 0..rooms {
        ids.push(add_room(store, &tenant, &office, &unique("room")).await.id);
    }
    (tenant, office, ids)
}

/// Every sensor sends its batches (seqs after `first_seq`) through its handle, `window` in
/// flight; readings durably acknowledged per second.
async fn drive(handles: &[RoomHandle], args: Args, first_seq: u64) -> anyhow::Result<f64> {
    let start = Instant::now();
    let mut sensors = tokio::task::JoinSet::new();
    for room in handles {
        let room = room.clone();
        sensors.spawn(async move {
            let sensor = SensorId::new("bench-sensor").unwrap();
            let mut pending = VecDeque::new();
            for batch in 0..args.batches {
                let first = first_seq + batch * args.batch + 1;
                let now = now_ms();
                let items = (first..first + args.batch)
                    .map(|seq| Reading {
                        seq,
                        ts: now,
                        count: (seq % 7) as i64,
                    })
                    .collect();
                pending.push_back(room.send(sensor.clone(), items, now)?);
                if pending.len() >= args.window {
                    pending.pop_front().unwrap().durable().await?;
                }
            }
            while let Some(ack) = pending.pop_front() {
                ack.durable().await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = sensors.join_next().await {
        done??;
    }
    let readings = (handles.len() as u64 * args.batches * args.batch) as f64;
    Ok(readings / start.elapsed().as_secs_f64())
}

/// Starts the owner process on `store` and returns it with its address.
async fn start_owner(store: &Path) -> anyhow::Result<(tokio::process::Child, Peer)> {
    let exe = std::env::current_exe()?.with_file_name("tally-transport-node");
    let mut child = tokio::process::Command::new(&exe)
        .arg("--store")
        .arg(store)
        .args(["--node-id", "owner", "--cookie", "bench"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| {
            format!(
                "starting {} (cargo build --release -p tally-cluster)",
                exe.display()
            )
        })?;
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines
        .next_line()
        .await?
        .context("the owner printed nothing")?;
    let addr = line
        .strip_prefix("listening ")
        .context("a listening line")?
        .parse()?;
    Ok((
        child,
        Peer {
            node_id: "owner".into(),
            addr,
        },
    ))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;

    let owner_store = dir.path().join("owner");
    let (tenant, office, remote_rooms) =
        seed(&EmbeddedStore::open(&owner_store)?, args.sensors).await;
    let (mut owner, peer) = start_owner(&owner_store).await?;

    let store = Arc::new(EmbeddedStore::open(&dir.path().join("local"))?);
    let (local_tenant, local_office, local_rooms) = seed(&store, args.sensors).await;
    let node = Node::start(&Settings::default(), store).await?;
    let router = LocalRouter::new(node.actors().clone(), node.store());
    let settings = TransportSettings::new("forwarder", "127.0.0.1:0".parse()?, "bench");
    let (_peers, peer_list) = tokio::sync::watch::channel(vec![peer]);
    let transport = Transport::start(settings, router.clone(), peer_list).await?;
    transport
        .linked()
        .wait_for(|linked| linked.contains("owner"))
        .await?;

    let mut local = Vec::new();
    for room in &local_rooms {
        local.push(router.room(&local_tenant, &local_office, room).await?);
    }
    let mut remote = Vec::new();
    for room in &remote_rooms {
        remote.push(transport.room("owner", &tenant, &office, room).await?);
    }
    println!("shape: {args:?}");
    let per_round = args.batches * args.batch;
    for round in 0..u64::from(args.rounds) {
        let l = drive(&local, args, round * per_round).await?;
        let r = drive(&remote, args, round * per_round).await?;
        println!(
            "round {round}: local {l:.0} readings/s, remote (forwarded) {r:.0} readings/s, remote/local {:.2}",
            r / l
        );
    }

    drop((local, remote));
    transport.shutdown().await;
    node.shutdown().await;
    drop(owner.stdin.take());
    owner.wait().await?;
    Ok(())
}
