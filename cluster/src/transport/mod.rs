//! The inter-node transport on ractor_cluster: links to peers, a versioned protocol, and the
//! remote targets of room and office handles.
//!
//! ractor_cluster carries bytes between nodes and authenticates links with the cluster cookie;
//! it does not dial again, notice a hung peer, time out calls, or version messages (see
//! `../shared/design.md` §5). This module adds each of those:
//!
//! - `peer.rs`: a task per peer dials (the smaller node id dials), says hello, pings, and on a
//!   missed heartbeat or a disconnect fails the link's pending calls at once and dials again
//!   with backoff.
//! - `wire.rs`: tally's own messages, each framed with the protocol version; a peer of another
//!   version is refused (log line and `tally_cluster_peer_refused_total{reason}`).
//! - `endpoint.rs`: the one remotely reachable actor of a node. Rooms and offices stay
//!   local-only; the endpoint serves forwarded batches (acked once durable on this node),
//!   sequence and occupancy queries, and relays its offices' display frames to interested
//!   peers.
//! - `relay.rs`: the receiving side of display relays: one relay per peer, office and room
//!   filter, fanned out to this node's displays.
//! - `remote.rs`, `link.rs`: calls with timeouts behind [`crate::RoomHandle`] and
//!   [`crate::OfficeHandle`].

mod endpoint;
mod link;
mod links;
mod peer;
mod relay;
mod remote;
mod served_offices;
mod settings;
pub mod telemetry;
mod tls;
mod wire;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use ractor::{Actor, ActorRef};
use ractor_cluster::node::NodeConnectionMode;
use ractor_cluster::{IncomingEncryptionMode, NodeServer, NodeServerMessage};
use tally_protocol::{OfficeId, RoomId, ServiceError, TenantId};
use tally_storage::Room;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

pub(crate) use endpoint::Served;
pub(crate) use link::PendingReply;
pub(crate) use links::Links;
pub(crate) use relay::{RelayLease, RelayTarget, Relays};
pub(crate) use remote::{RemoteOffice, RemoteRoom, durable_seq};
pub use served_offices::ServedOffices;
pub use settings::{Peer, TransportSettings};
pub use tls::TransportTls;
pub use wire::PROTOCOL_VERSION;

use crate::transport::link::unexpected;
use crate::transport::wire::{EndpointMsg, Reply, Request};
use crate::{OfficeHandle, RoomHandle};

/// Why the transport could not start.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The listen address cannot be bound.
    #[error("cannot listen for peers on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// What failed.
        reason: String,
    },
    /// An actor of the transport could not start.
    #[error("cannot start the transport: {0}")]
    Start(String),
}

/// What the transport's tasks and its endpoint share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) settings: TransportSettings,
    pub(crate) offices: Arc<dyn ServedOffices>,
    pub(crate) links: Links,
    pub(crate) relays: Arc<Relays>,
    pub(crate) served: Served,
    next_stream: AtomicU64,
}

/// Whether a transport runs in this process.
static RUNNING: AtomicBool = AtomicBool::new(false);

/// This process's one transport slot, freed on drop. ractor's actor registry and process groups
/// are per process, and ractor_cluster announces every remotely reachable actor of the process
/// on every link: two transports in one process would see each other's endpoints.
#[derive(Debug)]
struct ProcessSlot;

impl ProcessSlot {
    fn take() -> Result<Self, TransportError> {
        if RUNNING.swap(true, Ordering::SeqCst) {
            return Err(TransportError::Start(
                "a transport already runs in this process (one node per process)".into(),
            ));
        }
        Ok(Self)
    }
}

impl Drop for ProcessSlot {
    fn drop(&mut self) {
        RUNNING.store(false, Ordering::SeqCst);
    }
}

/// A node's links to its peers: forwards to rooms and offices they own, and serves theirs.
/// One per process.
#[derive(Debug)]
pub struct Transport {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: ActorRef<NodeServerMessage>,
    endpoint: ActorRef<EndpointMsg>,
    /// What [`Transport::shutdown`] waits for; taken by the first shutdown.
    running: std::sync::Mutex<Option<Running>>,
    _slot: ProcessSlot,
}

/// The tasks of a running transport.
#[derive(Debug)]
struct Running {
    server_done: JoinHandle<()>,
    endpoint_done: JoinHandle<()>,
    peers_done: JoinHandle<()>,
}

impl Transport {
    /// Listens on `settings.listen`, serves peers from `served` (the offices this node owns:
    /// a [`crate::LocalRouter`] serves all of its actors), and keeps the peers of `peers` linked
    /// as the list changes.
    ///
    /// # Errors
    /// [`TransportError::Listen`] if the address cannot be bound, [`TransportError::Start`] if
    /// an actor cannot start or another transport runs in this process.
    pub async fn start(
        settings: TransportSettings,
        served: impl ServedOffices,
        peers: watch::Receiver<Vec<Peer>>,
    ) -> Result<Self, TransportError> {
        let slot = ProcessSlot::take()?;
        let addr = resolve_port(settings.listen)?;
        let server = NodeServer::new(
            addr.port(),
            settings.cookie.clone(),
            settings.node_id.clone(),
            addr.ip().to_string(),
            settings
                .tls
                .as_ref()
                .map(|tls| IncomingEncryptionMode::Tls(tls.acceptor())),
            Some(NodeConnectionMode::Isolated),
        )
        .with_listen_addr(addr.ip());
        let (server, server_done) =
            Actor::spawn(None, server, ())
                .await
                .map_err(|err| TransportError::Listen {
                    addr,
                    reason: err.to_string(),
                })?;
        let shared = Arc::new(Shared {
            settings,
            offices: Arc::new(served),
            links: Links::default(),
            relays: Arc::default(),
            served: Served::default(),
            next_stream: AtomicU64::new(1),
        });
        let (endpoint, endpoint_done) =
            match Actor::spawn(None, endpoint::Endpoint, shared.clone()).await {
                Ok(spawned) => spawned,
                Err(err) => {
                    server.stop(None);
                    return Err(TransportError::Start(err.to_string()));
                }
            };
        let (events, receiver) = mpsc::unbounded_channel();
        let subscribed = server.cast(NodeServerMessage::SubscribeToEvents {
            id: "tally.transport".into(),
            subscription: Box::new(peer::SessionEvents(events)),
        });
        if subscribed.is_err() {
            server.stop(None);
            endpoint.stop(None);
            return Err(TransportError::Start("node server stopped".into()));
        }
        let peers_done = tokio::spawn(peer::run_peers(
            shared.clone(),
            server.clone(),
            peers,
            receiver,
        ));
        tracing::info!(node = %shared.settings.node_id, %addr, version = shared.settings.protocol_version, "transport listening");
        Ok(Self {
            shared,
            addr,
            server,
            endpoint,
            running: std::sync::Mutex::new(Some(Running {
                server_done,
                endpoint_done,
                peers_done,
            })),
            _slot: slot,
        })
    }

    /// The address peers dial (with the port picked if the settings asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The ids of the peers linked now (hello answered, heartbeat alive), updated on change.
    pub fn linked(&self) -> watch::Receiver<BTreeSet<String>> {
        self.shared.links.watch()
    }

    /// The peers refused now (another protocol version, or answering as another node), with
    /// why; a peer leaves the list once it links.
    pub fn refused(&self) -> watch::Receiver<BTreeMap<String, String>> {
        self.shared.links.watch_refused()
    }

    /// A handle on a room of an office owned by `peer`: resolves (activating if needed) the
    /// room there, like [`crate::Router::room`] does locally. Its sends are forwarded to the
    /// owner's room and acknowledged once durable there.
    ///
    /// # Errors
    /// The owner's error ([`ServiceError::NotFound`] for a room or office it does not have),
    /// or [`ServiceError::Unavailable`] if `peer` is not linked or did not answer in time.
    pub async fn room(
        &self,
        peer: &str,
        tenant: &TenantId,
        office: &OfficeId,
        room: &RoomId,
    ) -> Result<RoomHandle, ServiceError> {
        let link = self.shared.links.get(peer)?;
        let stream = self.shared.next_stream.fetch_add(1, Ordering::Relaxed);
        let request = Request::OpenRoom {
            stream,
            tenant: tenant.clone(),
            office: office.clone(),
            room: room.clone(),
        };
        match link.call(request).await? {
            Reply::Done => Ok(RoomHandle::remote(
                RemoteRoom::new(link, stream),
                tenant.clone(),
                room.clone(),
            )),
            other => Err(unexpected(&other)),
        }
    }

    /// A handle on an office owned by `peer` (activated there if needed): displays subscribed
    /// through it get the owner's frames relayed once to this node and fanned out here.
    ///
    /// # Errors
    /// As [`Transport::room`].
    pub async fn office(
        &self,
        peer: &str,
        tenant: &TenantId,
        office: &OfficeId,
    ) -> Result<OfficeHandle, ServiceError> {
        let link = self.shared.links.get(peer)?;
        let request = Request::OpenOffice {
            tenant: tenant.clone(),
            office: office.clone(),
        };
        match link.call(request).await? {
            Reply::Done => {
                let target = RelayTarget {
                    link,
                    tenant: tenant.clone(),
                    office: office.clone(),
                };
                Ok(OfficeHandle::remote(RemoteOffice::new(
                    target,
                    self.shared.relays.clone(),
                )))
            }
            other => Err(unexpected(&other)),
        }
    }

    /// Tells `peer`, the owner of `room`'s office, that `room` was added to the registry, so
    /// that its office starts the room now (at most once: if the link is down, or the message
    /// is lost, the office finds the room in the registry when it is first asked for).
    ///
    /// # Errors
    /// [`ServiceError::Unavailable`] if there is no link to `peer`.
    pub fn room_created(&self, peer: &str, room: Room) -> Result<(), ServiceError> {
        self.shared
            .links
            .get(peer)?
            .cast(Request::RoomCreated { room })
    }

    /// Display relays this node holds from its peers now (one per peer, office and room filter,
    /// however many local displays share it).
    pub fn relays(&self) -> usize {
        self.shared.relays.len()
    }

    /// Closes every link (pending calls fail with `unavailable`) and stops listening. Later
    /// calls return at once.
    pub async fn shutdown(&self) {
        let Some(running) = self.running.lock().unwrap().take() else {
            return;
        };
        self.server.stop(Some("shutdown".into()));
        let _ = running.server_done.await;
        let _ = running.peers_done.await;
        self.endpoint.stop(Some("shutdown".into()));
        let _ = running.endpoint_done.await;
    }
}

/// `listen` with a free port in place of port 0.
fn resolve_port(listen: SocketAddr) -> Result<SocketAddr, TransportError> {
    if listen.port() != 0 {
        return Ok(listen);
    }
    std::net::TcpListener::bind(listen)
        .and_then(|probe| probe.local_addr())
        .map_err(|err| TransportError::Listen {
            addr: listen,
            reason: err.to_string(),
        })
}
