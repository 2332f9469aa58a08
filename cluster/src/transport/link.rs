//! [`Link`]: calls and casts to one peer's endpoint, with timeouts, failing at once when the
//! peer goes down, and a bound on what may be on its way to a peer that does not keep up.
//!
//! ractor_cluster queues whatever is sent to a peer without bound (its session's mailbox and
//! socket writer): a slow or paused peer would make this node's memory grow. A link counts the
//! bytes it sent; the heartbeat's pings confirm them (the session is one ordered stream: a pong
//! means everything sent before its ping arrived). Calls and casts that would take the bytes
//! sent and not yet confirmed past `TransportSettings::max_unconfirmed_bytes` are refused at
//! once with `unavailable` naming the peer (and counted); pings are never refused.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ractor::ActorRef;
use tally_protocol::ServiceError;
use tokio::sync::{oneshot, watch};

use crate::transport::wire::{self, EndpointMsg, Envelope, Reply, Request, WireError};
use crate::transport::{TransportSettings, telemetry};

/// A live link to a peer: its endpoint actor (a ractor_cluster proxy) and whether the link is
/// down. A link never comes back up: after a reconnect the peer gets a new one, and handles
/// bound to the old one fail with `unavailable` (their caller resolves again).
#[derive(Debug)]
pub(crate) struct Link {
    peer: String,
    endpoint: ActorRef<EndpointMsg>,
    down: watch::Receiver<bool>,
    this_node: String,
    version: u32,
    call_timeout: Duration,
    max_unconfirmed: u64,
    /// Bytes sent to the peer since the link came up.
    sent: AtomicU64,
    /// Of those, the bytes a pong confirmed arrived.
    confirmed: AtomicU64,
}

/// Why a call got no usable answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CallError {
    /// The peer failed the request, or did not answer (down, timeout): retryable
    /// `unavailable` in the latter cases.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// The answer is not of this node's protocol version, or does not decode.
    #[error(transparent)]
    Wire(#[from] WireError),
}

impl From<CallError> for ServiceError {
    fn from(err: CallError) -> Self {
        match err {
            CallError::Service(err) => err,
            CallError::Wire(err) => {
                ServiceError::Unavailable(format!("peer answered badly: {err}"))
            }
        }
    }
}

/// A call sent to a peer, its answer still to come.
#[derive(Debug)]
pub(crate) struct PendingReply {
    answer: oneshot::Receiver<Vec<u8>>,
    link: Arc<Link>,
    timeout: Duration,
}

impl Link {
    /// A link to `peer`'s `endpoint`, down once `down` turns true, speaking as this node of
    /// `settings`.
    pub(crate) fn new(
        peer: String,
        endpoint: ActorRef<EndpointMsg>,
        down: watch::Receiver<bool>,
        settings: &TransportSettings,
    ) -> Self {
        Self {
            peer,
            endpoint,
            down,
            this_node: settings.node_id.clone(),
            version: settings.protocol_version,
            call_timeout: settings.call_timeout,
            max_unconfirmed: settings.max_unconfirmed_bytes,
            sent: AtomicU64::new(0),
            confirmed: AtomicU64::new(0),
        }
    }

    /// Counts `frame` as sent, if the bytes not yet confirmed stay within the bound.
    fn admit(&self, frame: &[u8], kind: &'static str) -> Result<(), ServiceError> {
        let len = frame.len() as u64;
        let unconfirmed = self
            .sent
            .load(Ordering::SeqCst)
            .saturating_sub(self.confirmed.load(Ordering::SeqCst));
        if unconfirmed + len > self.max_unconfirmed {
            metrics::counter!(telemetry::BACKLOG_REFUSED, "kind" => kind).increment(1);
            return Err(ServiceError::Unavailable(format!(
                "peer {} is not keeping up: {unconfirmed} bytes sent to it are not confirmed yet \
                 (bound {}); try again",
                self.peer, self.max_unconfirmed
            )));
        }
        self.sent.fetch_add(len, Ordering::SeqCst);
        Ok(())
    }

    /// Sends a heartbeat ping (never refused); answers its reply and the count of bytes sent
    /// up to it, to pass to [`Link::confirm`] once it is answered.
    ///
    /// # Errors
    /// [`ServiceError::Unavailable`] if the link is down.
    pub(crate) fn ping(
        self: &Arc<Self>,
        timeout: Duration,
    ) -> Result<(PendingReply, u64), ServiceError> {
        let frame = self.frame(Request::Ping);
        let mark = self.sent.fetch_add(frame.len() as u64, Ordering::SeqCst) + frame.len() as u64;
        Ok((self.send_call(frame, timeout)?, mark))
    }

    /// Everything sent up to `mark` (from [`Link::ping`]) reached the peer.
    pub(crate) fn confirm(&self, mark: u64) {
        self.confirmed.fetch_max(mark, Ordering::SeqCst);
    }

    /// The peer's node id.
    pub(crate) fn peer(&self) -> &str {
        &self.peer
    }

    /// Whether the link went down.
    pub(crate) fn is_down(&self) -> bool {
        *self.down.borrow()
    }

    /// Resolves once the link is down.
    pub(crate) async fn wait_down(&self) {
        let mut down = self.down.clone();
        let _ = down.wait_for(|down| *down).await;
    }

    fn unavailable(&self) -> ServiceError {
        ServiceError::Unavailable(format!("peer {} is down", self.peer))
    }

    fn frame(&self, request: Request) -> Vec<u8> {
        wire::encode(
            self.version,
            &Envelope {
                from: self.this_node.clone(),
                request,
            },
        )
    }

    /// Sends a call now (so calls sent one after another arrive in that order) with the
    /// link's call timeout.
    ///
    /// # Errors
    /// [`ServiceError::Unavailable`] if the link is down.
    pub(crate) fn start(self: &Arc<Self>, request: Request) -> Result<PendingReply, ServiceError> {
        self.start_with_timeout(request, self.call_timeout)
    }

    /// As [`Link::start`], waiting at most `timeout`.
    ///
    /// # Errors
    /// As [`Link::start`], and [`ServiceError::Unavailable`] if the peer is not keeping up.
    pub(crate) fn start_with_timeout(
        self: &Arc<Self>,
        request: Request,
        timeout: Duration,
    ) -> Result<PendingReply, ServiceError> {
        if self.is_down() {
            return Err(self.unavailable());
        }
        let frame = self.frame(request);
        self.admit(&frame, "call")?;
        self.send_call(frame, timeout)
    }

    fn send_call(
        self: &Arc<Self>,
        request: Vec<u8>,
        timeout: Duration,
    ) -> Result<PendingReply, ServiceError> {
        if self.is_down() {
            return Err(self.unavailable());
        }
        let (reply, answer) = oneshot::channel();
        self.endpoint
            .send_message(EndpointMsg::Call {
                request,
                reply: (reply, timeout).into(),
            })
            .map_err(|_| self.unavailable())?;
        Ok(PendingReply {
            answer,
            link: self.clone(),
            timeout,
        })
    }

    /// Calls the peer and waits for its answer.
    ///
    /// # Errors
    /// As [`PendingReply::reply`].
    pub(crate) async fn call(self: &Arc<Self>, request: Request) -> Result<Reply, CallError> {
        self.start(request)?.reply().await
    }

    /// Sends a one-way message.
    ///
    /// # Errors
    /// [`ServiceError::Unavailable`] if the link is down or the peer is not keeping up.
    pub(crate) fn cast(&self, request: Request) -> Result<(), ServiceError> {
        if self.is_down() {
            return Err(self.unavailable());
        }
        let message = self.frame(request);
        self.admit(&message, "cast")?;
        self.endpoint
            .send_message(EndpointMsg::Cast { message })
            .map_err(|_| self.unavailable())
    }
}

impl PendingReply {
    /// The peer's answer.
    ///
    /// # Errors
    /// [`CallError::Service`]: the peer's [`Reply::Failed`] error, or `unavailable` if the peer
    /// went down or did not answer in time; [`CallError::Wire`] for an answer of another
    /// protocol version or one that does not decode.
    pub(crate) async fn reply(self) -> Result<Reply, CallError> {
        let link = &self.link;
        let answer = tokio::select! {
            answer = tokio::time::timeout(self.timeout, self.answer) => answer,
            () = link.wait_down() => return Err(link.unavailable().into()),
        };
        let bytes = match answer {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(_)) => return Err(link.unavailable().into()),
            Err(_) => {
                metrics::counter!(telemetry::CALL_TIMEOUTS).increment(1);
                return Err(ServiceError::Unavailable(format!(
                    "peer {} did not answer within {:?}",
                    link.peer, self.timeout
                ))
                .into());
            }
        };
        match wire::decode(link.version, &bytes)? {
            Reply::Failed(err) => Err(err.into()),
            reply => Ok(reply),
        }
    }
}

/// The error for an answer of the wrong kind (a peer bug, or a protocol mismatch the version
/// did not catch).
pub(crate) fn unexpected(reply: &Reply) -> ServiceError {
    ServiceError::Unavailable(format!("peer answered unexpectedly: {reply:?}"))
}
