//! [`ClusterNode`]: a node's part in a cluster: its membership, transport, leases and router.
//!
//! Started by [`crate::Node::start`] when `cluster.enabled`: the transport first (it serves
//! peers only the offices this node owns, none before it joined), then the membership (the
//! member registers as joining, with the transport's address), the peer list derived from each
//! view, the router; the member turns active once all of that serves. Stopped in the reverse
//! order: draining, every held office handed off, leave, transport closed; the actors stop
//! after ([`crate::Node::shutdown`]).

use std::net::SocketAddr;
use std::sync::{Arc, Weak};

use tally_actors::NodeHandle;
use tally_config::Settings;
use tally_storage::SharedStore;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::cluster_router::{ClusterRouter, OwnedOffices};
use crate::lease::LeaseManager;
use crate::membership::{
    ClusterStatus, ClusterView, Member, MemberState, Membership, cluster_status,
};
use crate::{CoordinationConfig, NodeError, Peer, Transport, TransportSettings, TransportTls};

/// This node as a member of a cluster: what [`crate::Node`] adds in cluster mode.
#[derive(Debug)]
pub struct ClusterNode {
    node_id: String,
    coordination: CoordinationConfig,
    membership: Arc<Membership>,
    transport: Arc<Transport>,
    router: Arc<ClusterRouter>,
    follow: JoinHandle<()>,
    publish_held: JoinHandle<()>,
}

/// What [`ClusterNode::status`] reports: the membership and what this node holds.
#[derive(Debug, Clone)]
pub struct NodeClusterStatus {
    /// This node's id.
    pub node_id: String,
    /// The membership as read from Redis.
    pub cluster: ClusterStatus,
    /// Offices this node holds now.
    pub offices_held: usize,
}

impl ClusterNode {
    /// Joins the cluster of `settings.cluster` with `actors` (started with
    /// `Activation::Claimed`) over the shared `store`.
    ///
    /// # Errors
    /// [`NodeError::Cluster`] if the cookie file cannot be read, the transport cannot listen,
    /// or Redis cannot be reached to join.
    pub(crate) async fn start(
        settings: &Settings,
        actors: NodeHandle,
        store: SharedStore,
    ) -> Result<Self, NodeError> {
        let fail = |what: &str, reason: String| NodeError::Cluster(format!("{what}: {reason}"));
        let cluster = &settings.cluster;
        let coordination = CoordinationConfig::from_settings(cluster)
            .ok_or_else(|| fail("cluster.redis_url", "must be set".into()))?;
        let node_id = settings.node.node_id.clone();
        let region = settings.node.region.clone();
        let leases = LeaseManager::new(&coordination, &node_id)
            .map_err(|err| fail("cannot use redis", err.to_string()))?;
        // The router and the transport see the membership's views through this channel, so
        // that both exist before the node joins (with the transport's address).
        let (view_tx, view_rx) = watch::channel(ClusterView::default());
        let (peers_tx, peers_rx) = watch::channel(Vec::new());
        let owned = OwnedOffices::new(
            (node_id.clone(), region.clone()),
            actors,
            store,
            leases,
            view_rx,
        );
        let mut transport_settings =
            TransportSettings::new(node_id.clone(), cluster.listen_addr, cookie(settings)?);
        transport_settings.tls = transport_tls(settings)?;
        let transport = Transport::start(transport_settings, owned.clone(), peers_rx)
            .await
            .map_err(|err| fail("cannot start the inter-node transport", err.to_string()))?;
        let member = Member {
            id: node_id.clone(),
            region,
            cluster_addr: cluster
                .advertise_addr
                .clone()
                .unwrap_or_else(|| transport.local_addr().to_string()),
            http_addr: cluster
                .http_advertise_addr
                .clone()
                .unwrap_or_else(|| settings.node.http_addr.to_string()),
            state: MemberState::Joining,
            protocol_version: crate::membership::PROTOCOL_VERSION,
        };
        let membership = match Membership::join(&coordination, member).await {
            Ok(membership) => membership,
            Err(err) => {
                transport.shutdown().await;
                return Err(fail("cannot join the cluster", err.to_string()));
            }
        };
        let follow = tokio::spawn(follow_view(
            node_id.clone(),
            membership.view(),
            view_tx,
            peers_tx,
        ));
        let transport = Arc::new(transport);
        let router = Arc::new(ClusterRouter::start(owned, transport.clone()));
        let membership = Arc::new(membership);
        let publish_held = tokio::spawn(publish_offices_held(
            router.held(),
            Arc::downgrade(&membership),
        ));
        if let Err(err) = membership.set_state(MemberState::Active).await {
            warn!(node = %node_id, %err, "cannot announce this node active yet; the heartbeat will");
        }
        // Serving starts with a view that places offices here (bounded: the heartbeat writes
        // the state if the announcement was lost).
        let mut routed = router.view();
        let active = |view: &ClusterView| {
            view.member(&node_id)
                .is_some_and(|me| me.state == MemberState::Active)
        };
        let _ = tokio::time::timeout(coordination.heartbeat_ttl, routed.wait_for(active)).await;
        info!(node = %node_id, addr = %transport.local_addr(), "cluster node serving");
        Ok(Self {
            node_id,
            coordination,
            membership,
            transport,
            router,
            follow,
            publish_held,
        })
    }

    /// This node's id.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// The router over the cluster.
    pub fn router(&self) -> Arc<ClusterRouter> {
        self.router.clone()
    }

    /// The inter-node transport.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// The membership read from Redis now, with the offices this node holds.
    ///
    /// # Errors
    /// [`crate::CoordinationError`] if Redis cannot be read.
    pub async fn status(&self) -> Result<NodeClusterStatus, crate::CoordinationError> {
        Ok(NodeClusterStatus {
            node_id: self.node_id.clone(),
            cluster: cluster_status(&self.coordination).await?,
            offices_held: *self.router.held().borrow(),
        })
    }

    /// Drains this node: announces it draining (it is no longer a placement target), then
    /// hands its offices off one by one; returns once it holds none, when it can be stopped.
    ///
    /// # Errors
    /// [`crate::CoordinationError`] if the draining state cannot be written to Redis (the
    /// heartbeat writes it once Redis answers; the offices are handed off anyway).
    pub async fn drain(&self) -> Result<(), crate::CoordinationError> {
        let announced = self.membership.set_state(MemberState::Draining).await;
        self.router.drain().await;
        info!(node = %self.node_id, "drained: no office held; the node can be stopped");
        announced.map(|_| ())
    }

    /// Leaves the cluster: draining, every held office handed off, the member record
    /// removed, the transport closed.
    pub(crate) async fn stop(&self) {
        let _ = self.membership.set_state(MemberState::Draining).await;
        self.router.stop().await;
        if let Err(err) = self.membership.leave().await {
            warn!(node = %self.node_id, %err, "cannot leave the cluster; the record expires with its heartbeat");
        }
        self.follow.abort();
        self.publish_held.abort();
        self.transport.shutdown().await;
    }
}

/// The cluster cookie: `cluster.cookie`, or the content of `cluster.cookie_file` without the
/// whitespace around it.
fn cookie(settings: &Settings) -> Result<String, NodeError> {
    match (&settings.cluster.cookie, &settings.cluster.cookie_file) {
        (Some(cookie), _) => Ok(cookie.clone()),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map(|text| text.trim().to_owned())
            .map_err(|err| {
                NodeError::Cluster(format!(
                    "cluster.cookie_file: cannot read {}: {err}",
                    path.display()
                ))
            }),
        (None, None) => Err(NodeError::Cluster(
            "cluster.cookie: must be set (or cluster.cookie_file)".into(),
        )),
    }
}

/// TLS on the inter-node links, when `cluster.tls_cert_file` (with its key and CA) is set.
fn transport_tls(settings: &Settings) -> Result<Option<TransportTls>, NodeError> {
    let cluster = &settings.cluster;
    let (Some(cert), Some(key), Some(ca)) = (
        &cluster.tls_cert_file,
        &cluster.tls_key_file,
        &cluster.tls_ca_file,
    ) else {
        return Ok(None);
    };
    TransportTls::from_pem_files(cert, key, ca)
        .map(Some)
        .map_err(|err| NodeError::Cluster(format!("cluster.tls_cert_file: {err}")))
}

/// Passes every view of the membership on to the router, and the peers it lists to the
/// transport: every other member, joining ones included so that links are up before they
/// take offices.
async fn follow_view(
    node_id: String,
    mut membership: watch::Receiver<ClusterView>,
    view: watch::Sender<ClusterView>,
    peers: watch::Sender<Vec<Peer>>,
) {
    loop {
        let current = membership.borrow_and_update().clone();
        let mut listed = Vec::new();
        for member in current.members.values().filter(|m| m.id != node_id) {
            match resolve(&member.cluster_addr).await {
                Some(addr) => listed.push(Peer {
                    node_id: member.id.clone(),
                    addr,
                }),
                None => warn!(peer = %member.id, addr = %member.cluster_addr,
                              "cannot resolve a member's cluster address"),
            }
        }
        peers.send_if_modified(|peers| {
            let changed = *peers != listed;
            *peers = listed;
            changed
        });
        view.send_replace(current);
        if membership.changed().await.is_err() {
            return;
        }
    }
}

/// Publishes every count of the offices this node holds in its membership record, as long as
/// the membership exists (dropping it stops the heartbeat, like a crash).
async fn publish_offices_held(mut held: watch::Receiver<usize>, membership: Weak<Membership>) {
    loop {
        let Some(membership) = membership.upgrade() else {
            return;
        };
        membership.set_offices_held(*held.borrow_and_update());
        drop(membership);
        if held.changed().await.is_err() {
            return;
        }
    }
}

/// The socket address of `host:port`.
async fn resolve(addr: &str) -> Option<SocketAddr> {
    if let Ok(addr) = addr.parse() {
        return Some(addr);
    }
    tokio::net::lookup_host(addr).await.ok()?.next()
}
