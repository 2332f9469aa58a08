//! A three-node cluster for the cluster benchmarks: a throwaway PostgreSQL (the storage test kit)
//! and `redis-server` (the cluster test kit) on free ports, and release `tally run` processes
//! started next to this binary, with default cluster timings unless told otherwise.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tally_cluster::membership::{ClusterView, MemberState, MembershipWatcher};
use tally_cluster::testkit::RedisServer;
use tally_cluster::{CoordinationConfig, RedisUrl};
use tally_config::ClusterSettings;
use tally_protocol::{OfficeId, TenantId};
use tally_storage::testkit::{APP_ROLE, OWNER_ROLE, PostgresServer, TestDatabase};
use tokio::io::{AsyncBufReadExt, BufReader};

/// Admin token of the benchmark's nodes.
pub(crate) const ADMIN_TOKEN: &str = "cluster-bench-admin-token";
/// Region of every node.
const REGION: &str = "local";
/// Longest wait for a node to start or the membership to settle.
const PATIENCE: Duration = Duration::from_secs(60);

/// One node: its id, ports and process (while running).
struct NodeSlot {
    id: String,
    http_port: u16,
    cluster_port: u16,
    data_dir: tempfile::TempDir,
    child: Option<tokio::process::Child>,
}

/// The store, Redis and the nodes; everything stops when dropped (the nodes are killed on
/// drop).
pub struct ClusterRig {
    _postgres: PostgresServer,
    db: TestDatabase,
    redis: RedisServer,
    timings: ClusterSettings,
    nodes: Vec<NodeSlot>,
    watcher: MembershipWatcher,
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The `tally` binary next to this one (both built with `--release`).
fn tally_binary() -> anyhow::Result<PathBuf> {
    let binary = std::env::current_exe()?.with_file_name("tally");
    if !binary.is_file() {
        bail!(
            "{} not found: cargo build --release -p tally-gateway --bin tally",
            binary.display()
        );
    }
    Ok(binary)
}

impl std::fmt::Debug for ClusterRig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.nodes.iter().map(|slot| slot.id.as_str()).collect();
        f.debug_struct("ClusterRig")
            .field("redis", &self.redis.url())
            .field("nodes", &ids)
            .finish_non_exhaustive()
    }
}

impl ClusterRig {
    /// Starts PostgreSQL, Redis and `nodes` nodes with the cluster timings of `timings`, and
    /// waits until every node is an active member.
    pub async fn start(nodes: usize, timings: ClusterSettings) -> anyhow::Result<Self> {
        let postgres = PostgresServer::start().await.map_err(anyhow::Error::msg)?;
        let db = postgres.create_database().await;
        let redis = RedisServer::start().await.map_err(anyhow::Error::msg)?;
        let config = coordination(&redis, &timings);
        let watcher = MembershipWatcher::start(&config, None).await?;
        let mut rig = Self {
            _postgres: postgres,
            db,
            redis,
            timings,
            nodes: Vec::new(),
            watcher,
        };
        for index in 0..nodes {
            rig.nodes.push(NodeSlot {
                id: format!("n{}", index + 1),
                http_port: free_port()?,
                cluster_port: free_port()?,
                data_dir: tempfile::tempdir()?,
                child: None,
            });
            rig.restart(index).await?;
        }
        Ok(rig)
    }

    /// Starts node `index` (again) and waits until it is an active member.
    pub(crate) async fn restart(&mut self, index: usize) -> anyhow::Result<()> {
        let slot = &self.nodes[index];
        let ms = |d: Duration| format!("{}ms", d.as_millis());
        let t = &self.timings;
        let mut child = tokio::process::Command::new(tally_binary()?)
            .arg("run")
            .env("TALLY_NODE__NODE_ID", &slot.id)
            .env("TALLY_NODE__REGION", REGION)
            .env("TALLY_NODE__DATA_DIR", slot.data_dir.path())
            .env(
                "TALLY_NODE__HTTP_ADDR",
                format!("127.0.0.1:{}", slot.http_port),
            )
            .env("TALLY_AUTH__ADMIN_TOKEN", ADMIN_TOKEN)
            .env(
                "TALLY_AUTH__JWT_SECRET",
                "cluster-bench-jwt-secret-of-32-bytes-or-more",
            )
            .env("TALLY_LOG__FILTER", "warn,tally_gateway::server=info")
            // The bench measures the cluster, not the per-tenant quotas (one tenant drives it).
            .env("TALLY_QUOTAS__READINGS_PER_SECOND", "100000000")
            .env("TALLY_QUOTAS__READINGS_BURST", "100000000")
            .env("TALLY_STORAGE__BACKEND", "postgres")
            .env("TALLY_STORAGE__POSTGRES__URL", self.db.url(APP_ROLE))
            .env(
                "TALLY_STORAGE__POSTGRES__MIGRATE_URL",
                self.db.url(OWNER_ROLE),
            )
            .env("TALLY_CLUSTER__ENABLED", "true")
            .env("TALLY_CLUSTER__REDIS_URL", self.redis.url())
            .env(
                "TALLY_CLUSTER__LISTEN_ADDR",
                format!("127.0.0.1:{}", slot.cluster_port),
            )
            .env("TALLY_CLUSTER__COOKIE", "cluster-bench-cookie-0123456789")
            .env(
                "TALLY_CLUSTER__HEARTBEAT_INTERVAL",
                ms(t.heartbeat_interval),
            )
            .env("TALLY_CLUSTER__HEARTBEAT_TTL", ms(t.heartbeat_ttl))
            .env(
                "TALLY_CLUSTER__VIEW_REFRESH_INTERVAL",
                ms(t.view_refresh_interval),
            )
            .env("TALLY_CLUSTER__LEASE_TTL", ms(t.lease_ttl))
            .env(
                "TALLY_CLUSTER__LEASE_RENEW_INTERVAL",
                ms(t.lease_renew_interval),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("tally starts")?;
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let listening = tokio::time::timeout(PATIENCE, async {
            let mut logged = Vec::new();
            while let Some(line) = lines.next_line().await? {
                if line.contains("listening") {
                    return anyhow::Ok(());
                }
                logged.push(line);
            }
            bail!(
                "{} exited before listening:\n{}",
                slot.id,
                logged.join("\n")
            )
        })
        .await
        .context("node did not listen in time")?;
        listening?;
        // Keep draining its log so that it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        self.nodes[index].child = Some(child);
        let id = self.nodes[index].id.clone();
        self.await_view(|view| {
            view.member(&id)
                .is_some_and(|member| member.state == MemberState::Active)
        })
        .await
    }

    /// `kill -9` node `index`.
    pub(crate) async fn kill9(&mut self, index: usize) {
        if let Some(mut child) = self.nodes[index].child.take() {
            let _ = child.kill().await;
        }
    }

    /// Waits until the membership satisfies `condition`.
    pub(crate) async fn await_view(
        &self,
        condition: impl FnMut(&ClusterView) -> bool,
    ) -> anyhow::Result<()> {
        let mut view = self.watcher.view();
        tokio::time::timeout(PATIENCE, view.wait_for(condition))
            .await
            .context("the membership did not settle in time")??;
        Ok(())
    }

    /// The HTTP base URL of node `index`.
    pub(crate) fn url(&self, index: usize) -> String {
        format!("http://{}", self.addr(index))
    }

    /// The sensor WebSocket URL of node `index`.
    pub(crate) fn sensor_url(&self, index: usize) -> String {
        format!("ws://{}/v1/sensors/connect", self.addr(index))
    }

    fn addr(&self, index: usize) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.nodes[index].http_port))
    }

    /// The index of the node that owns `office` of `tenant` in the current view.
    pub(crate) fn owner(&self, tenant: &str, office: &str) -> anyhow::Result<usize> {
        let view = self.watcher.view().borrow().clone();
        let owner = tally_cluster::placement::owner(
            &view,
            REGION,
            &TenantId::new(tenant)?,
            &OfficeId::new(office)?,
        )
        .context("no active member")?;
        self.nodes
            .iter()
            .position(|slot| slot.id == owner.id)
            .context("owner is not one of the rig's nodes")
    }
}

fn coordination(redis: &RedisServer, timings: &ClusterSettings) -> CoordinationConfig {
    CoordinationConfig {
        redis_url: RedisUrl(redis.url()),
        key_prefix: timings.key_prefix.clone(),
        heartbeat_interval: timings.heartbeat_interval,
        heartbeat_ttl: timings.heartbeat_ttl,
        view_refresh_interval: timings.view_refresh_interval,
        lease_ttl: timings.lease_ttl,
        lease_renew_interval: timings.lease_renew_interval,
        redis_timeout: timings.redis_timeout,
    }
}
