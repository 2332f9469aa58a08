//! A test cluster on 127.0.0.1: its own PostgreSQL database or Cassandra keyspace (the shared
//! store: PostgreSQL, or the ScyllaDB backend on a real Cassandra node) and
//! `redis-server` (membership and leases) on free ports, and real `tally run` processes, each
//! with its own data directory, node id, HTTP and inter-node ports. Timings are fast (heartbeat
//! and lease renewal every 200 ms, both expiring after 1.5 s) so that failovers take about two
//! seconds. Readiness is awaited on the membership view, never on a sleep.

mod checks;
mod displays;
mod kill9;
mod ledger;
mod process;
mod shared_store;

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::json;
use tally_cluster::lease::LeaseManager;
use tally_cluster::membership::{ClusterView, MemberState, MembershipWatcher};
use tally_cluster::testkit::{RedisServer, await_view};
use tally_cluster::{CoordinationConfig, RedisUrl};
use tally_protocol::{OfficeId, TenantId};
use tokio::sync::watch;

pub use checks::assert_exactly_acknowledged;
pub use displays::{DisplaySeen, WatchedDisplay};
pub use kill9::kill_9_of_one_of_three_under_load;
pub use ledger::{Activation, Ledger};
pub use process::{Logs, NodeProcess, field, message};
pub use shared_store::SharedStoreServer;

use super::Api;

/// The cluster's shared secret (tests only).
const COOKIE: &str = "cluster-test-cookie-0123456789";
/// The region of every test node (and so of every tenant they serve).
pub const REGION: &str = "local";
/// Heartbeat and lease renewal interval of the test nodes.
const BEAT: Duration = Duration::from_millis(200);
/// Heartbeat and lease lifetime of the test nodes: how long a dead node keeps its offices.
pub const TTL: Duration = Duration::from_millis(1500);

/// One node's identity and ports, kept across restarts.
struct Slot {
    id: String,
    http_port: u16,
    cluster_port: u16,
    data_dir: tempfile::TempDir,
    process: Option<NodeProcess>,
}

/// The shared store, Redis and `tally` nodes started by a test; everything stops when dropped.
pub struct Cluster {
    pub shared_store: SharedStoreServer,
    pub redis: RedisServer,
    prefix: String,
    slots: Vec<Slot>,
    watcher: Option<MembershipWatcher>,
    /// Every node process started, for [`Ledger::assert_single_activation`].
    pub ledger: Ledger,
    /// `TALLY_*` settings every node gets on top of the cluster's own.
    extra_env: Vec<(String, String)>,
}

/// A free loopback port (bound and released: the node binds it a moment later).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

impl Cluster {
    /// Starts a PostgreSQL database, Redis and `nodes` nodes, and waits until all are active
    /// members.
    pub async fn start(nodes: usize) -> Self {
        Self::start_with_env(nodes, &[]).await
    }

    /// [`Cluster::start`] with `extra_env` (`TALLY_*` settings) given to every node.
    pub async fn start_with_env(nodes: usize, extra_env: &[(&str, &str)]) -> Self {
        Self::start_on_with_env(SharedStoreServer::postgres().await, nodes, extra_env).await
    }

    /// As [`Cluster::start`], the nodes sharing `shared_store`.
    pub async fn start_on(shared_store: SharedStoreServer, nodes: usize) -> Self {
        Self::start_on_with_env(shared_store, nodes, &[]).await
    }

    /// As [`Cluster::start_on`], with `extra_env` given to every node.
    pub async fn start_on_with_env(
        shared_store: SharedStoreServer,
        nodes: usize,
        extra_env: &[(&str, &str)],
    ) -> Self {
        let redis = RedisServer::start().await.expect("redis-server starts");
        let mut cluster = Self {
            shared_store,
            redis,
            prefix: "test".to_owned(),
            slots: Vec::new(),
            watcher: None,
            ledger: Ledger::default(),
            extra_env: extra_env
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
        };
        cluster.watcher = Some(
            MembershipWatcher::start(&cluster.coordination(), None)
                .await
                .expect("the test's membership watcher starts"),
        );
        for _ in 0..nodes {
            cluster.add_node().await;
        }
        cluster
    }

    /// Redis settings of this cluster as its nodes use them, for the test's own reads.
    pub fn coordination(&self) -> CoordinationConfig {
        CoordinationConfig {
            redis_url: RedisUrl(self.redis.url()),
            key_prefix: self.prefix.clone(),
            heartbeat_interval: BEAT,
            heartbeat_ttl: TTL,
            view_refresh_interval: BEAT,
            lease_ttl: TTL,
            lease_renew_interval: BEAT,
            redis_timeout: Duration::from_millis(500),
        }
    }

    /// The `TALLY_*` environment of node `index`.
    fn env(&self, index: usize) -> Vec<(String, String)> {
        let slot = &self.slots[index];
        let coordination = self.coordination();
        let mut env = self.shared_store.env();
        let ms = |duration: Duration| format!("{}ms", duration.as_millis());
        env.extend(
            [
                ("TALLY_NODE__NODE_ID", slot.id.clone()),
                ("TALLY_NODE__REGION", REGION.to_owned()),
                (
                    "TALLY_NODE__DATA_DIR",
                    slot.data_dir.path().display().to_string(),
                ),
                (
                    "TALLY_NODE__HTTP_ADDR",
                    format!("127.0.0.1:{}", slot.http_port),
                ),
                ("TALLY_DISPLAY__COALESCE_INTERVAL", "10ms".to_owned()),
                ("TALLY_CLUSTER__ENABLED", "true".to_owned()),
                ("TALLY_CLUSTER__REDIS_URL", self.redis.url()),
                ("TALLY_CLUSTER__KEY_PREFIX", self.prefix.clone()),
                (
                    "TALLY_CLUSTER__LISTEN_ADDR",
                    format!("127.0.0.1:{}", slot.cluster_port),
                ),
                ("TALLY_CLUSTER__COOKIE", COOKIE.to_owned()),
                (
                    "TALLY_CLUSTER__HEARTBEAT_INTERVAL",
                    ms(coordination.heartbeat_interval),
                ),
                (
                    "TALLY_CLUSTER__HEARTBEAT_TTL",
                    ms(coordination.heartbeat_ttl),
                ),
                (
                    "TALLY_CLUSTER__VIEW_REFRESH_INTERVAL",
                    ms(coordination.view_refresh_interval),
                ),
                ("TALLY_CLUSTER__LEASE_TTL", ms(coordination.lease_ttl)),
                (
                    "TALLY_CLUSTER__LEASE_RENEW_INTERVAL",
                    ms(coordination.lease_renew_interval),
                ),
                (
                    "TALLY_CLUSTER__REDIS_TIMEOUT",
                    ms(coordination.redis_timeout),
                ),
            ]
            .map(|(name, value)| (name.to_owned(), value)),
        );
        env.extend(self.extra_env.iter().cloned());
        env
    }

    /// Starts one more node (`n1`, `n2`, …) and waits until it is an active member; its index.
    pub async fn add_node(&mut self) -> usize {
        let index = self.slots.len();
        self.slots.push(Slot {
            id: format!("n{}", index + 1),
            http_port: free_port(),
            cluster_port: free_port(),
            data_dir: tempfile::tempdir().unwrap(),
            process: None,
        });
        self.restart(index).await;
        index
    }

    /// Starts node `index` again (same id, ports and data directory) and waits until it is an
    /// active member.
    pub async fn restart(&mut self, index: usize) {
        assert!(self.slots[index].process.is_none(), "node {index} runs");
        let process = NodeProcess::start(&self.env(index));
        let id = self.id(index).to_owned();
        self.ledger.started(&id, process.logs.clone());
        self.slots[index].process = Some(process);
        self.await_view(&format!("{id} active"), |view| {
            view.member(&id)
                .is_some_and(|member| member.state == MemberState::Active)
        })
        .await;
    }

    /// The node id of node `index`.
    pub fn id(&self, index: usize) -> &str {
        &self.slots[index].id
    }

    /// The index of the node with `id`.
    pub fn index_of(&self, id: &str) -> usize {
        self.slots
            .iter()
            .position(|slot| slot.id == id)
            .unwrap_or_else(|| panic!("no node {id}"))
    }

    /// The running process of node `index`.
    pub fn node(&self, index: usize) -> &NodeProcess {
        self.slots[index]
            .process
            .as_ref()
            .unwrap_or_else(|| panic!("node {index} is not running"))
    }

    /// The HTTP address of node `index` (also while it is down: its port is kept).
    pub fn addr(&self, index: usize) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.slots[index].http_port))
    }

    /// HTTP addresses of every node, running or not.
    pub fn addrs(&self) -> Vec<SocketAddr> {
        (0..self.slots.len())
            .map(|index| self.addr(index))
            .collect()
    }

    /// An API client of node `index`.
    pub fn api(&self, index: usize) -> Api {
        Api::new(self.addr(index))
    }

    /// `kill -9` node `index`.
    pub fn kill9(&mut self, index: usize) {
        self.slots[index].process.take().expect("node runs").kill9();
        let id = self.id(index).to_owned();
        self.ledger.killed(&id);
    }

    /// `kill -STOP` node `index`: it hangs with its sockets open.
    pub fn pause(&self, index: usize) {
        self.node(index).signal("STOP");
    }

    /// `kill -CONT` node `index`.
    pub fn resume(&self, index: usize) {
        self.node(index).signal("CONT");
    }

    /// The membership as the test's own watcher sees it.
    pub fn view(&self) -> watch::Receiver<ClusterView> {
        self.watcher.as_ref().expect("watcher runs").view()
    }

    /// Waits until the membership satisfies `condition`.
    pub async fn await_view(
        &self,
        what: &str,
        condition: impl FnMut(&ClusterView) -> bool,
    ) -> ClusterView {
        await_view(&mut self.view(), what, condition).await
    }

    /// Waits until node `id` is no longer a member (its heartbeat expired or it left).
    pub async fn await_gone(&self, id: &str) -> ClusterView {
        self.await_view(&format!("{id} gone"), |view| view.member(id).is_none())
            .await
    }

    /// What `tally ctl cluster status` prints, run with node `index`'s configuration.
    pub fn ctl_cluster_status(&self, index: usize) -> String {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_tally"))
            .args(["ctl", "cluster", "status"])
            .envs(self.env(index))
            .output()
            .expect("tally ctl runs");
        assert!(
            output.status.success(),
            "tally ctl cluster status: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("utf-8 status")
    }

    /// The id of the node whose lease holds `office` now, if any.
    pub async fn lease_holder(&self, tenant: &str, office: &str) -> Option<String> {
        let leases = LeaseManager::new(&self.coordination(), "test-observer").unwrap();
        let holder = leases
            .current_holder(
                &TenantId::new(tenant).unwrap(),
                &OfficeId::new(office).unwrap(),
            )
            .await
            .expect("redis answers");
        holder.map(|holder| holder.split('/').next().unwrap_or_default().to_owned())
    }

    /// The index of the node that should own `office` in the current view (rendezvous hash).
    pub fn placed_on(&self, tenant: &str, office: &str) -> usize {
        let view = self.view().borrow().clone();
        let owner = tally_cluster::placement::owner(
            &view,
            REGION,
            &TenantId::new(tenant).unwrap(),
            &OfficeId::new(office).unwrap(),
        )
        .expect("an active member");
        self.index_of(&owner.id)
    }
}

/// One office of a provisioned tenant: its id and the sensor key of each of its rooms.
pub struct ProvisionedOffice {
    pub office: String,
    pub rooms: Vec<(String, String)>,
}

/// Creates `tenant` with `offices` offices `o1…`, each with `rooms` rooms `o1-r1…` (room ids
/// are unique in a tenant; capacity 10) and one sensor per room `o1-r1-s`, through `api`.
pub async fn provision(
    api: &Api,
    tenant: &str,
    offices: usize,
    rooms: usize,
) -> Vec<ProvisionedOffice> {
    api.create("/v1/tenants", json!({ "id": tenant, "name": tenant }))
        .await;
    let mut provisioned = Vec::new();
    for o in 1..=offices {
        let office = format!("o{o}");
        api.create(
            &format!("/v1/tenants/{tenant}/offices"),
            json!({ "id": office }),
        )
        .await;
        let mut keys = Vec::new();
        for r in 1..=rooms {
            let room = format!("{office}-r{r}");
            let base = format!("/v1/tenants/{tenant}/offices/{office}/rooms");
            api.create(&base, json!({ "id": room, "capacity": 10 }))
                .await;
            let sensor = api
                .create(
                    &format!("{base}/{room}/sensors"),
                    json!({ "id": format!("{room}-s") }),
                )
                .await;
            keys.push((room, sensor["key"].as_str().unwrap().to_owned()));
        }
        provisioned.push(ProvisionedOffice {
            office,
            rooms: keys,
        });
    }
    provisioned
}
