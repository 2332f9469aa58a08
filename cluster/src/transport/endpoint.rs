//! The endpoint: the one actor of a node that peers reach through ractor_cluster. It decodes a
//! peer's versioned request and serves it from the offices this node owns (rooms and offices stay
//! local-only actors), and takes the relayed frames of offices this node's displays watch.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tally_protocol::{OfficeId, RoomId, ServiceError, TenantId};
use tokio::task::AbortHandle;
use tracing::Instrument;
use tracing::field::{self, Empty};

use crate::RoomHandle;
use crate::transport::Shared;
use crate::transport::link::Link;
use crate::transport::telemetry;
use crate::transport::wire::{self, EndpointMsg, Envelope, Reply, Request, WireError};

/// The pg group every node's endpoint joins; ractor_cluster announces its members to peers.
pub(crate) const ENDPOINT_GROUP: &str = "tally.transport.endpoint";

/// What this node serves to its peers: rooms they opened, relays of its offices to them.
#[derive(Debug, Default)]
pub(crate) struct Served {
    rooms: Mutex<HashMap<(String, u64), RoomHandle>>,
    relays: Mutex<HashMap<(String, u64), AbortHandle>>,
}

impl Served {
    /// The link to `peer` went down: its rooms are closed and relays to it stop.
    pub(crate) fn peer_down(&self, peer: &str) {
        self.rooms
            .lock()
            .unwrap()
            .retain(|(owner, _), _| owner != peer);
        self.relays.lock().unwrap().retain(|(owner, _), task| {
            let keep = owner != peer;
            if !keep {
                task.abort();
            }
            keep
        });
    }

    fn room(&self, peer: &str, stream: u64) -> Result<RoomHandle, ServiceError> {
        self.rooms
            .lock()
            .unwrap()
            .get(&(peer.to_owned(), stream))
            .cloned()
            .ok_or_else(|| {
                ServiceError::Unavailable("room stream is closed; resolve the room again".into())
            })
    }

    fn stop_relay(&self, peer: &str, relay: u64) {
        if let Some(task) = self
            .relays
            .lock()
            .unwrap()
            .remove(&(peer.to_owned(), relay))
        {
            task.abort();
        }
    }
}

/// The endpoint actor.
#[derive(Debug)]
pub(crate) struct Endpoint;

impl Actor for Endpoint {
    type Msg = EndpointMsg;
    type State = Arc<Shared>;
    type Arguments = Arc<Shared>;

    async fn pre_start(
        &self,
        myself: ActorRef<EndpointMsg>,
        shared: Arc<Shared>,
    ) -> Result<Arc<Shared>, ActorProcessingErr> {
        ractor::pg::join(ENDPOINT_GROUP.to_owned(), vec![myself.get_cell()]);
        Ok(shared)
    }

    async fn handle(
        &self,
        _myself: ActorRef<EndpointMsg>,
        message: EndpointMsg,
        shared: &mut Arc<Shared>,
    ) -> Result<(), ActorProcessingErr> {
        let version = shared.settings.protocol_version;
        match message {
            EndpointMsg::Call { request, reply } => {
                match wire::decode::<Envelope>(version, &request) {
                    Ok(envelope) => serve_call(shared, envelope, reply),
                    Err(err) => {
                        refuse(&err);
                        let _ = reply.send(wire::refusal(version));
                    }
                }
            }
            EndpointMsg::Cast { message } => match wire::decode::<Envelope>(version, &message) {
                Ok(envelope) => serve_cast(shared, envelope),
                Err(err) => refuse(&err),
            },
        }
        Ok(())
    }
}

/// Logs and counts a message this node cannot read.
fn refuse(err: &WireError) {
    match err {
        WireError::Version { theirs, ours } => {
            metrics::counter!(telemetry::PEER_REFUSED, "reason" => "protocol_version").increment(1);
            tracing::error!(
                peer_version = theirs,
                version = ours,
                "refused a peer's message: it speaks inter-node protocol version {theirs}, this node speaks {ours}"
            );
        }
        WireError::Malformed(reason) => {
            tracing::warn!(%reason, "dropped a malformed message from a peer");
        }
    }
}

/// Answers `reply` with the outcome of `work`, in a task (the endpoint keeps serving).
fn answer<F>(shared: &Arc<Shared>, reply: RpcReplyPort<Vec<u8>>, work: F)
where
    F: Future<Output = Result<Reply, ServiceError>> + Send + 'static,
{
    let version = shared.settings.protocol_version;
    tokio::spawn(async move {
        let outcome = work.await.unwrap_or_else(Reply::Failed);
        let _ = reply.send(wire::encode(version, &outcome));
    });
}

fn serve_call(shared: &Arc<Shared>, envelope: Envelope, reply: RpcReplyPort<Vec<u8>>) {
    let Envelope { from, request } = envelope;
    let this = shared.clone();
    match request {
        Request::Hello => {
            let node = shared.settings.node_id.clone();
            answer(shared, reply, async move { Ok(Reply::Hello { node }) });
        }
        Request::Ping => answer(shared, reply, async { Ok(Reply::Pong) }),
        Request::OpenRoom {
            stream,
            tenant,
            office,
            room,
        } => answer(shared, reply, async move {
            let handle = this.offices.room(&tenant, &office, &room).await?;
            this.served
                .rooms
                .lock()
                .unwrap()
                .insert((from, stream), handle);
            Ok(Reply::Done)
        }),
        Request::Readings {
            stream,
            sensor,
            items,
            received_at,
            trace,
        } => {
            // The owner's part of the forwarding gateway's trace: the room's spans are children.
            let span = tracing::info_span!("transport.forwarded_readings", from = %from, tenant = Empty, room = Empty, sensor = %sensor, readings = items.len());
            if let Some(trace) = trace {
                trace.adopt(&span);
            }
            // Enqueued at the room here, in the order the peer sent its batches.
            let pending = span.in_scope(|| {
                let pending = shared.served.room(&from, stream).and_then(|room| {
                    span.record("tenant", field::display(room.tenant()))
                        .record("room", field::display(room.room()));
                    room.send(sensor, items, received_at)
                });
                tracing::debug!(enqueued = pending.is_ok(), "forwarded batch");
                pending
            });
            let durable =
                async move { Ok::<_, ServiceError>(Reply::Seq(pending?.durable().await?)) };
            answer(shared, reply, durable.instrument(span));
        }
        Request::LastDurableSeq { stream, sensor } => {
            let room = shared.served.room(&from, stream);
            answer(shared, reply, async move {
                Ok(Reply::Seq(room?.last_durable_seq(&sensor).await?))
            });
        }
        Request::Occupancy {
            tenant,
            office,
            room,
        } => answer(shared, reply, async move {
            let office = this.offices.office(&tenant, &office).await?;
            Ok(Reply::Frame(office.occupancy(room).await?))
        }),
        Request::Subscribe {
            relay,
            tenant,
            office,
            room,
        } => answer(shared, reply, async move {
            start_relay(&this, from, relay, (tenant, office, room)).await?;
            Ok(Reply::Done)
        }),
        Request::OpenOffice { tenant, office } => answer(shared, reply, async move {
            this.offices.office(&tenant, &office).await?;
            Ok(Reply::Done)
        }),
        cast => {
            tracing::warn!(peer = %from, request = ?cast, "a peer called what is a cast");
            let _ = reply.send(wire::encode(
                shared.settings.protocol_version,
                &Reply::Failed(ServiceError::Unavailable("not a call".into())),
            ));
        }
    }
}

fn serve_cast(shared: &Arc<Shared>, envelope: Envelope) {
    let Envelope { from, request } = envelope;
    match request {
        Request::CloseRoom { stream } => {
            shared.served.rooms.lock().unwrap().remove(&(from, stream));
        }
        Request::Unsubscribe { relay } => shared.served.stop_relay(&from, relay),
        Request::Frame { relay, frame } => shared.relays.deliver(&from, relay, &frame),
        Request::RelayEnded { relay } => shared.relays.ended(&from, relay),
        Request::RoomCreated { room } => shared.offices.room_created(room),
        call => tracing::warn!(peer = %from, request = ?call, "a peer cast what is a call"),
    }
}

/// Subscribes to a local office for `peer` and relays its frames there until the office
/// stops, the peer unsubscribes or its link goes down.
async fn start_relay(
    shared: &Arc<Shared>,
    peer: String,
    relay: u64,
    (tenant, office, room): (TenantId, OfficeId, Option<RoomId>),
) -> Result<(), ServiceError> {
    let link: Arc<Link> = shared
        .links
        .wait(&peer, shared.settings.handshake_timeout)
        .await?;
    let office = shared.offices.office(&tenant, &office).await?;
    let mut frames = office.subscribe(room).await?;
    let served = shared.clone();
    let key = (peer.clone(), relay);
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                frame = frames.next() => {
                    let Some(frame) = frame else {
                        let _ = link.cast(Request::RelayEnded { relay });
                        break;
                    };
                    if link.cast(Request::Frame { relay, frame }).is_err() {
                        break;
                    }
                    metrics::counter!(telemetry::RELAYED_FRAMES).increment(1);
                }
                () = link.wait_down() => break,
            }
        }
        served.served.relays.lock().unwrap().remove(&key);
    });
    shared
        .served
        .relays
        .lock()
        .unwrap()
        .insert((peer, relay), task.abort_handle());
    Ok(())
}
