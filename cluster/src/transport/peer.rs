//! Keeping peers linked: dial (the node with the smaller id dials), wait for ractor_cluster's
//! session to authenticate, say hello with the protocol version, then ping until the peer stops
//! answering or disconnects; then fail everything pending on the link at once, close the session
//! and dial again with capped exponential backoff.
//!
//! ractor_cluster never notices a peer that hangs (`kill -STOP`): its TCP connection stays open
//! and casts keep succeeding. The heartbeat here is what notices: a ping unanswered within
//! `heartbeat_timeout` takes the link down.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;

use ractor::{ActorId, ActorRef};
use ractor_cluster::node::NodeServerSessionInformation;
use ractor_cluster::{NodeEventSubscription, NodeServerMessage};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::transport::endpoint::ENDPOINT_GROUP;
use crate::transport::link::{CallError, Link};
use crate::transport::wire::{EndpointMsg, Reply, Request, WireError};
use crate::transport::{Peer, Shared, TransportSettings, telemetry};

/// A ractor_cluster session event.
#[derive(Debug)]
pub(crate) enum SessionEvent {
    /// A connection opened (not yet authenticated).
    Opened(NodeServerSessionInformation),
    /// A session authenticated and synchronised: the peer's endpoint is reachable.
    Ready(NodeServerSessionInformation),
    /// A session ended.
    Closed(NodeServerSessionInformation),
}

/// Forwards ractor_cluster's session events into a channel.
pub(crate) struct SessionEvents(pub(crate) mpsc::UnboundedSender<SessionEvent>);

impl NodeEventSubscription for SessionEvents {
    fn node_session_opened(&self, session: NodeServerSessionInformation) {
        let _ = self.0.send(SessionEvent::Opened(session));
    }

    fn node_session_disconnected(&self, session: NodeServerSessionInformation) {
        let _ = self.0.send(SessionEvent::Closed(session));
    }

    fn node_session_authenticated(&self, _session: NodeServerSessionInformation) {}

    fn node_session_ready(&self, session: NodeServerSessionInformation) {
        let _ = self.0.send(SessionEvent::Ready(session));
    }
}

/// The tally node id of a session's peer (ractor_cluster names it `id@host`).
fn peer_id(session: &NodeServerSessionInformation) -> Option<&str> {
    let name = &session.peer_name.as_ref()?.name;
    Some(name.split_once('@').map_or(name.as_str(), |(id, _)| id))
}

/// One peer's task and how to reach it.
#[derive(Debug)]
struct PeerSlot {
    /// Its configured address (`None`: it dialed this node and is not in the peer list).
    addr: Option<SocketAddr>,
    events: mpsc::UnboundedSender<SessionEvent>,
    task: JoinHandle<()>,
}

/// Runs a task per peer: for the peers of the list, and for nodes that dial this one. Ends
/// when the node server stops (its event channel closes), after every peer task ended.
pub(crate) async fn run_peers(
    shared: Arc<Shared>,
    server: ActorRef<NodeServerMessage>,
    mut peers: watch::Receiver<Vec<Peer>>,
    mut events: mpsc::UnboundedReceiver<SessionEvent>,
) {
    let mut slots: HashMap<String, PeerSlot> = HashMap::new();
    let mut peers_open = true;
    let list = peers.borrow_and_update().clone();
    update_slots(&shared, &server, &mut slots, &list);
    loop {
        tokio::select! {
            changed = peers.changed(), if peers_open => {
                if changed.is_err() {
                    peers_open = false;
                    continue;
                }
                let list = peers.borrow_and_update().clone();
                update_slots(&shared, &server, &mut slots, &list);
            }
            event = events.recv() => {
                let Some(event) = event else { break };
                route(&shared, &server, &mut slots, event);
            }
        }
    }
    for (_, slot) in slots.drain() {
        drop(slot.events);
        let _ = slot.task.await;
    }
}

fn spawn_slot(
    shared: &Arc<Shared>,
    server: &ActorRef<NodeServerMessage>,
    peer: &str,
    addr: Option<SocketAddr>,
) -> PeerSlot {
    let (events, receiver) = mpsc::unbounded_channel();
    let dial = addr.filter(|_| shared.settings.node_id.as_str() < peer);
    let task = tokio::spawn(run_peer(
        shared.clone(),
        server.clone(),
        peer.to_owned(),
        dial,
        receiver,
    ));
    PeerSlot { addr, events, task }
}

/// Starts tasks for new peers and ends those of peers no longer listed.
fn update_slots(
    shared: &Arc<Shared>,
    server: &ActorRef<NodeServerMessage>,
    slots: &mut HashMap<String, PeerSlot>,
    list: &[Peer],
) {
    let this = &shared.settings.node_id;
    slots.retain(|id, slot| {
        slot.addr.is_none()
            || list
                .iter()
                .any(|p| &p.node_id == id && Some(p.addr) == slot.addr)
    });
    for peer in list.iter().filter(|peer| &peer.node_id != this) {
        let listed = slots
            .get(&peer.node_id)
            .is_some_and(|slot| slot.addr.is_some());
        if !listed {
            let slot = spawn_slot(shared, server, &peer.node_id, Some(peer.addr));
            slots.insert(peer.node_id.clone(), slot);
        }
    }
}

/// Hands a session event to the task of its peer (by name once authenticated, by address
/// while a dialed connection is still opening); a node that dials this one gets a task.
fn route(
    shared: &Arc<Shared>,
    server: &ActorRef<NodeServerMessage>,
    slots: &mut HashMap<String, PeerSlot>,
    event: SessionEvent,
) {
    let session = match &event {
        SessionEvent::Opened(s) | SessionEvent::Ready(s) | SessionEvent::Closed(s) => s,
    };
    let by_name = peer_id(session).map(str::to_owned);
    let slot = match &by_name {
        Some(peer) => {
            if !slots.contains_key(peer) && matches!(event, SessionEvent::Ready(_)) {
                let slot = spawn_slot(shared, server, peer, None);
                slots.insert(peer.clone(), slot);
            }
            slots.get(peer)
        }
        None => slots.values().find(|slot| {
            slot.addr
                .is_some_and(|addr| addr.to_string() == session.peer_addr)
        }),
    };
    if let Some(slot) = slot {
        let _ = slot.events.send(event);
    }
}

/// Why a link ended or could not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The node is shutting down (or the peer left the list).
    Exit,
    /// Try again after the backoff.
    Retry,
    /// The peer was refused: try again after the longest backoff.
    Refused,
}

async fn run_peer(
    shared: Arc<Shared>,
    server: ActorRef<NodeServerMessage>,
    peer: String,
    dial: Option<SocketAddr>,
    mut events: mpsc::UnboundedReceiver<SessionEvent>,
) {
    let settings = &shared.settings;
    let mut backoff = settings.redial_min;
    loop {
        let outcome = match session(&shared, &server, &peer, dial, &mut events).await {
            Ok(session) => link(&shared, &peer, &session, &mut events).await,
            Err(outcome) => outcome,
        };
        backoff = match outcome {
            Outcome::Exit => return,
            Outcome::Refused => settings.redial_max,
            Outcome::Retry => (backoff * 2).min(settings.redial_max),
        };
        // While waiting, a session the peer opens itself is still taken.
        if dial.is_some() {
            let sleep = pin!(tokio::time::sleep(backoff));
            if drain_until(sleep, &mut events).await.is_err() {
                return;
            }
        }
    }
}

/// Waits for `until`, dropping session events meanwhile; `Err` if the event channel closed.
async fn drain_until(
    mut until: std::pin::Pin<&mut tokio::time::Sleep>,
    events: &mut mpsc::UnboundedReceiver<SessionEvent>,
) -> Result<(), ()> {
    loop {
        tokio::select! {
            () = &mut until => return Ok(()),
            event = events.recv() => if event.is_none() { return Err(()) },
        }
    }
}

/// Opens a connection to `peer` at `addr`: TLS when configured (the peer's certificate must
/// name `peer`), else plain TCP; the session's handshake follows.
async fn dial_peer(
    settings: &TransportSettings,
    server: &ActorRef<NodeServerMessage>,
    peer: &str,
    addr: SocketAddr,
) -> Result<(), String> {
    let Some(tls) = &settings.tls else {
        return ractor_cluster::client_connect(server, addr)
            .await
            .map_err(|err| err.to_string());
    };
    let (connector, name) = tls.connector(peer).map_err(|err| format!("tls: {err}"))?;
    ractor_cluster::client_connect_enc(server, addr, connector, name)
        .await
        .map_err(|err| format!("tls: {err}"))
}

/// A ready session with `peer`: dialed (and given `handshake_timeout` to authenticate), or
/// waited for if this node does not dial it.
async fn session(
    shared: &Arc<Shared>,
    server: &ActorRef<NodeServerMessage>,
    peer: &str,
    dial: Option<SocketAddr>,
    events: &mut mpsc::UnboundedReceiver<SessionEvent>,
) -> Result<NodeServerSessionInformation, Outcome> {
    let settings = &shared.settings;
    let Some(addr) = dial else {
        loop {
            match events.recv().await {
                Some(SessionEvent::Ready(session)) => return Ok(session),
                Some(_) => {}
                None => return Err(Outcome::Exit),
            }
        }
    };
    let deadline = tokio::time::sleep(settings.handshake_timeout);
    let mut deadline = pin!(deadline);
    match tokio::time::timeout(
        settings.handshake_timeout,
        dial_peer(settings, server, peer, addr),
    )
    .await
    {
        Ok(Ok(())) => {}
        Ok(Err(err)) if err.starts_with("tls:") => {
            tracing::warn!(%peer, %addr, error = %err, "cannot open a TLS link to the peer");
            metrics::counter!(telemetry::PEER_REFUSED, "reason" => "tls").increment(1);
            return Err(Outcome::Retry);
        }
        Ok(Err(err)) => {
            tracing::debug!(%peer, %addr, error = %err, "cannot dial peer");
            return Err(Outcome::Retry);
        }
        Err(_) => return Err(Outcome::Retry),
    }
    let mut opening: Vec<ActorRef<ractor_cluster::NodeSessionMessage>> = Vec::new();
    loop {
        tokio::select! {
            () = &mut deadline => {
                tracing::warn!(%peer, %addr, timeout = ?settings.handshake_timeout, "peer did not complete the handshake in time");
                for session in opening {
                    session.stop(Some("handshake timeout".into()));
                }
                return Err(Outcome::Retry);
            }
            event = events.recv() => match event {
                Some(SessionEvent::Opened(session)) => opening.push(session.actor),
                Some(SessionEvent::Ready(session)) => return Ok(session),
                Some(SessionEvent::Closed(session)) => {
                    opening.retain(|actor| actor.get_id() != session.actor.get_id());
                }
                None => return Err(Outcome::Exit),
            }
        }
    }
}

/// The endpoint of the peer behind ractor_cluster session `node`.
fn endpoint_of(node: ractor_cluster::NodeId) -> Option<ActorRef<EndpointMsg>> {
    ractor::pg::get_members(&ENDPOINT_GROUP.to_owned())
        .into_iter()
        .find(|cell| matches!(cell.get_id(), ActorId::Remote { node_id, .. } if node_id == node))
        .map(ActorRef::from)
}

/// Says hello on a ready session, then keeps the link up until the peer stops answering or
/// disconnects.
async fn link(
    shared: &Arc<Shared>,
    peer: &str,
    session: &NodeServerSessionInformation,
    events: &mut mpsc::UnboundedReceiver<SessionEvent>,
) -> Outcome {
    let settings = &shared.settings;
    let Some(endpoint) = endpoint_of(session.node_id) else {
        tracing::warn!(%peer, "peer's session is ready but its endpoint is not announced");
        session.actor.stop(Some("no endpoint".into()));
        return Outcome::Retry;
    };
    let (down, down_watch) = watch::channel(false);
    let link = Arc::new(Link::new(peer.to_owned(), endpoint, down_watch, settings));
    if let Err(outcome) = hello(shared, &link).await {
        session.actor.stop(Some("refused".into()));
        return outcome;
    }
    shared.links.up(link.clone());
    metrics::counter!(telemetry::PEER_UP).increment(1);
    tracing::info!(%peer, addr = %session.peer_addr, "peer linked");

    let (reason, outcome) = heartbeat(shared, &link, session, events).await;

    // Down: pending calls fail now, not at their timeout; what was served to the peer ends.
    let _ = down.send(true);
    shared.links.down(&link);
    shared.served.peer_down(peer);
    shared.relays.peer_down(peer);
    session.actor.stop(Some(reason.into()));
    metrics::counter!(telemetry::PEER_DOWN, "reason" => reason).increment(1);
    tracing::warn!(%peer, reason, "peer link down");
    outcome
}

/// The hello: the peer must answer with its id in our protocol version.
async fn hello(shared: &Shared, link: &Arc<Link>) -> Result<(), Outcome> {
    let answer = match link.start_with_timeout(Request::Hello, shared.settings.handshake_timeout) {
        Ok(pending) => pending.reply().await,
        Err(_) => return Err(Outcome::Retry),
    };
    let peer = link.peer();
    match answer {
        Ok(Reply::Hello { node }) if node == peer => Ok(()),
        Ok(Reply::Hello { node }) => {
            metrics::counter!(telemetry::PEER_REFUSED, "reason" => "wrong_node").increment(1);
            tracing::error!(%peer, answered_as = %node, "refused peer: it answers as another node");
            shared
                .links
                .refused(peer, format!("answers as node {node}"));
            Err(Outcome::Refused)
        }
        Err(CallError::Wire(WireError::Version { theirs, ours })) => {
            metrics::counter!(telemetry::PEER_REFUSED, "reason" => "protocol_version").increment(1);
            tracing::error!(%peer, peer_version = theirs, version = ours, "refused peer: it speaks inter-node protocol version {theirs}, this node speaks {ours}");
            shared.links.refused(
                peer,
                format!("speaks inter-node protocol version {theirs}, this node {ours}"),
            );
            Err(Outcome::Refused)
        }
        Ok(other) => {
            tracing::warn!(%peer, answer = ?other, "peer answered hello unexpectedly");
            Err(Outcome::Retry)
        }
        Err(err) => {
            tracing::warn!(%peer, error = %err, "peer did not answer hello");
            Err(Outcome::Retry)
        }
    }
}

/// Pings the peer every `heartbeat_interval` until a ping goes unanswered for
/// `heartbeat_timeout` or the session closes: the reason and what to do next.
async fn heartbeat(
    shared: &Arc<Shared>,
    link: &Arc<Link>,
    session: &NodeServerSessionInformation,
    events: &mut mpsc::UnboundedReceiver<SessionEvent>,
) -> (&'static str, Outcome) {
    let settings = &shared.settings;
    loop {
        let ping = async {
            tokio::time::sleep(settings.heartbeat_interval).await;
            let (pending, mark) = link.ping(settings.heartbeat_timeout)?;
            pending.reply().await.map(|reply| (reply, mark))
        };
        let mut ping = pin!(ping);
        loop {
            tokio::select! {
                answer = &mut ping => match answer {
                    Ok((Reply::Pong, mark)) => {
                        link.confirm(mark);
                        break;
                    }
                    Ok((other, _)) => {
                        tracing::warn!(peer = link.peer(), answer = ?other, "peer answered a ping unexpectedly");
                        return ("heartbeat", Outcome::Retry);
                    }
                    Err(_) => return ("heartbeat", Outcome::Retry),
                },
                event = events.recv() => match event {
                    Some(SessionEvent::Closed(closed)) if closed.actor.get_id() == session.actor.get_id() => {
                        return ("disconnected", Outcome::Retry);
                    }
                    Some(_) => {}
                    None => return ("shutdown", Outcome::Exit),
                },
            }
        }
    }
}
