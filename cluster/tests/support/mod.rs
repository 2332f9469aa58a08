//! Nodes linked by the transport for the `transport_*` tests: the office owner runs as a child
//! process (`tally-transport-node`, so the tests can pause, kill and restart it, and because
//! ractor keeps its registry per process), the forwarding node runs in the test process.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tally_cluster::{LocalRouter, Node, Peer, Transport, TransportSettings};
use tally_config::Settings;
use tally_protocol::{OfficeId, Reading, RoomId, TenantId, now_ms};
use tally_storage::conformance::support::{add_office, add_room, add_tenant, unique};
use tally_storage::{EmbeddedStore, Store};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin};
use tokio::sync::mpsc;

pub mod cluster;

/// The cookie of the test clusters.
pub const COOKIE: &str = "transport-test-cookie";
/// How long a test waits for anything before it fails.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The metrics of the test process (the forwarding node's).
pub fn metrics() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::set_global_recorder(recorder).expect("the first recorder of the test process");
        handle
    })
}

/// A tenant with one office and its rooms, written into the embedded store at `dir` (then
/// closed, so the owner process can open it).
pub async fn seed_office(dir: &Path, rooms: usize) -> (TenantId, OfficeId, Vec<RoomId>) {
    let store = EmbeddedStore::open(dir).unwrap();
    let tenant = add_tenant(&store, &unique("tenant")).await;
    let office = add_office(&store, &tenant, &unique("office")).await;
    let mut ids = Vec::new();
    for _ in 0..rooms {
        ids.push(add_room(&store, &tenant, &office, &unique("room")).await.id);
    }
    (tenant, office, ids)
}

/// The last durable seq of `sensor` in `room`, read from the embedded store at `dir` (once its
/// owner process stopped).
pub async fn stored_seq(dir: &Path, tenant: &TenantId, room: &RoomId, sensor: &str) -> u64 {
    let store = EmbeddedStore::open(dir).unwrap();
    let state = store
        .room_state(tenant, room)
        .await
        .unwrap()
        .unwrap_or_default();
    state
        .sensors
        .get(&tally_protocol::SensorId::new(sensor).unwrap())
        .map_or(0, |s| s.last_seq)
}

/// Readings `first..first + n` of one sensor, each counting `count` people.
pub fn readings(first: u64, n: u64, count: i64) -> Vec<Reading> {
    let now = now_ms();
    (first..first + n)
        .map(|seq| Reading {
            seq,
            ts: now - 1_000 + seq as i64,
            count,
        })
        .collect()
}

/// An office owner: `tally-transport-node` as a child process.
pub struct OwnerProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    log: mpsc::UnboundedReceiver<String>,
    /// Where it listens for peers.
    pub addr: SocketAddr,
}

impl OwnerProcess {
    /// Starts a node called `node_id` on the store at `store`, listening on `listen`, speaking
    /// protocol `version`, knowing `peers`; waits until it listens.
    pub async fn start(
        store: &Path,
        node_id: &str,
        listen: SocketAddr,
        version: u32,
        peers: &[Peer],
    ) -> Self {
        Self::start_with(store, node_id, listen, version, peers, &[]).await
    }

    /// As [`OwnerProcess::start`], with more command-line arguments (`--tls-cert …`).
    pub async fn start_with(
        store: &Path,
        node_id: &str,
        listen: SocketAddr,
        version: u32,
        peers: &[Peer],
        args: &[String],
    ) -> Self {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_tally-transport-node"));
        command
            .arg("--store")
            .arg(store)
            .args(["--node-id", node_id, "--cookie", COOKIE])
            .args(["--listen", &listen.to_string()])
            .args(["--protocol-version", &version.to_string()])
            .args(args)
            .env("RUST_LOG", "info,ractor_cluster=warn")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        for peer in peers {
            command
                .arg("--peer")
                .arg(format!("{}={}", peer.node_id, peer.addr));
        }
        let mut child = command.spawn().expect("tally-transport-node starts");
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
        let (lines, log) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(Some(line)) = stderr.next_line().await {
                eprintln!("[owner] {line}");
                let _ = lines.send(line);
            }
        });
        let listening = tokio::time::timeout(PATIENCE, stdout.next_line())
            .await
            .expect("owner listens in time")
            .unwrap()
            .expect("owner prints where it listens");
        let addr = listening
            .strip_prefix("listening ")
            .expect("a listening line")
            .parse()
            .unwrap();
        tokio::spawn(async move { while let Ok(Some(_)) = stdout.next_line().await {} });
        Self {
            child,
            stdin,
            log,
            addr,
        }
    }

    /// The peer entry of this node.
    pub fn peer(&self, node_id: &str) -> Peer {
        Peer {
            node_id: node_id.to_owned(),
            addr: self.addr,
        }
    }

    /// Sends the process `signal` (`STOP`, `CONT`, `KILL`).
    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("owner still running");
        let status = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} {pid}");
    }

    /// Waits for a log line containing `needle`.
    pub async fn wait_log(&mut self, needle: &str) -> String {
        let found = tokio::time::timeout(PATIENCE, async {
            while let Some(line) = self.log.recv().await {
                if line.contains(needle) {
                    return Some(line);
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(line)) => line,
            _ => panic!("the owner never logged {needle:?}"),
        }
    }

    /// Stops it in order (stdin closes) and checks it exited cleanly.
    pub async fn stop(mut self) {
        drop(self.stdin.take());
        let status = tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("owner stops in time")
            .unwrap();
        assert!(status.success(), "owner exited with {status}");
    }
}

impl Drop for OwnerProcess {
    fn drop(&mut self) {
        // A paused process must wake to die promptly; kill_on_drop sends the SIGKILL.
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .arg("-CONT")
                .arg(pid.to_string())
                .status();
        }
    }
}

/// The forwarding node: a node in the test process (its own empty embedded store) and its
/// transport.
pub struct LocalNode {
    pub node: Node,
    pub transport: Transport,
    /// One transport per process: the tests of a file take turns.
    _turn: tokio::sync::OwnedMutexGuard<()>,
    _peers: tokio::sync::watch::Sender<Vec<Peer>>,
    _dir: tempfile::TempDir,
}

impl LocalNode {
    /// Starts node `node_id` linked to `peers`, its transport settings adjusted by `tune`.
    pub async fn start(
        node_id: &str,
        peers: Vec<Peer>,
        tune: impl FnOnce(&mut TransportSettings),
    ) -> Self {
        static TURN: OnceLock<std::sync::Arc<tokio::sync::Mutex<()>>> = OnceLock::new();
        let turn = TURN
            .get_or_init(Default::default)
            .clone()
            .lock_owned()
            .await;
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(EmbeddedStore::open(dir.path()).unwrap());
        let node = Node::start(&Settings::default(), store).await.unwrap();
        let router = LocalRouter::new(node.actors().clone(), node.store());
        let mut settings = TransportSettings::new(node_id, "127.0.0.1:0".parse().unwrap(), COOKIE);
        settings.heartbeat_interval = Duration::from_millis(200);
        settings.heartbeat_timeout = Duration::from_millis(1000);
        settings.redial_max = Duration::from_millis(500);
        tune(&mut settings);
        let (peers_tx, peers_rx) = tokio::sync::watch::channel(peers);
        let transport = Transport::start(settings, router, peers_rx).await.unwrap();
        Self {
            node,
            transport,
            _turn: turn,
            _peers: peers_tx,
            _dir: dir,
        }
    }

    /// Waits until `peer` is linked (or, with `linked: false`, no longer linked).
    pub async fn await_link(&self, peer: &str, linked: bool) {
        let mut watch = self.transport.linked();
        tokio::time::timeout(PATIENCE, watch.wait_for(|set| set.contains(peer) == linked))
            .await
            .unwrap_or_else(|_| panic!("peer {peer} linked={linked} in time"))
            .unwrap();
    }

    /// Stops the transport and the node, checking no actor outlived it.
    pub async fn stop(self) {
        self.transport.shutdown().await;
        self.node.shutdown().await;
        assert_eq!(self.node.live_actors(), 0);
    }
}

/// An owner `b` on a seeded store and a forwarding node `a` that knows it.
pub struct TwoNodes {
    pub store: std::path::PathBuf,
    pub tenant: TenantId,
    pub office: OfficeId,
    pub rooms: Vec<RoomId>,
    pub owner: OwnerProcess,
    pub a: LocalNode,
    dir: tempfile::TempDir,
}

impl TwoNodes {
    /// Seeds an office with `rooms` rooms, starts its owner speaking `owner_version` and the
    /// forwarding node (its settings adjusted by `tune`); does not wait for the link.
    pub async fn start(
        rooms: usize,
        owner_version: u32,
        tune: impl FnOnce(&mut TransportSettings),
    ) -> Self {
        Self::start_with(rooms, owner_version, &[], tune).await
    }

    /// As [`TwoNodes::start`], the owner started with more command-line arguments.
    pub async fn start_with(
        rooms: usize,
        owner_version: u32,
        owner_args: &[String],
        tune: impl FnOnce(&mut TransportSettings),
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        let (tenant, office, rooms) = seed_office(&store, rooms).await;
        let any_port = "127.0.0.1:0".parse().unwrap();
        let owner =
            OwnerProcess::start_with(&store, "b", any_port, owner_version, &[], owner_args).await;
        let a = LocalNode::start("a", vec![owner.peer("b")], tune).await;
        Self {
            store,
            tenant,
            office,
            rooms,
            owner,
            a,
            dir,
        }
    }

    /// As [`TwoNodes::start`] with the default protocol version, once `a` linked to `b`.
    pub async fn linked(rooms: usize, tune: impl FnOnce(&mut TransportSettings)) -> Self {
        let nodes = Self::start(rooms, tally_cluster::PROTOCOL_VERSION, tune).await;
        nodes.a.await_link("b", true).await;
        nodes
    }

    /// A remote handle on room `index` of the office, through `a`.
    pub async fn room(&self, index: usize) -> tally_cluster::RoomHandle {
        self.a
            .transport
            .room("b", &self.tenant, &self.office, &self.rooms[index])
            .await
            .unwrap()
    }

    /// A remote handle on the office, through `a`.
    pub async fn office(&self) -> tally_cluster::OfficeHandle {
        self.a
            .transport
            .office("b", &self.tenant, &self.office)
            .await
            .unwrap()
    }
}

impl TwoNodes {
    /// Starts the owner again on its store and address (after it was killed).
    pub async fn restart_owner(&mut self) {
        let version = tally_cluster::PROTOCOL_VERSION;
        self.owner = OwnerProcess::start(&self.store, "b", self.owner.addr, version, &[]).await;
    }

    /// Stops both nodes in order; the owner's store stays until the returned directory drops.
    pub async fn stop(self) -> tempfile::TempDir {
        self.a.stop().await;
        self.owner.stop().await;
        self.dir
    }
}
