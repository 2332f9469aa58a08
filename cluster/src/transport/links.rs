//! [`Links`]: the live link of each linked peer, and a watch of which peers are linked.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tally_protocol::ServiceError;
use tokio::sync::watch;

use crate::transport::link::Link;
use crate::transport::telemetry;

/// The links of this node, by peer id.
#[derive(Debug)]
pub(crate) struct Links {
    links: Mutex<HashMap<String, Arc<Link>>>,
    linked: watch::Sender<BTreeSet<String>>,
    refused: watch::Sender<BTreeMap<String, String>>,
}

impl Default for Links {
    fn default() -> Self {
        Self {
            links: Mutex::default(),
            linked: watch::Sender::new(BTreeSet::new()),
            refused: watch::Sender::new(BTreeMap::new()),
        }
    }
}

impl Links {
    /// `link` is up: calls to its peer go through it.
    pub(crate) fn up(&self, link: Arc<Link>) {
        let peer = link.peer().to_owned();
        let mut links = self.links.lock().unwrap();
        links.insert(peer.clone(), link);
        metrics::gauge!(telemetry::PEERS_LINKED).set(links.len() as f64);
        self.refused
            .send_if_modified(|refused| refused.remove(&peer).is_some());
        self.linked.send_modify(|linked| {
            linked.insert(peer);
        });
    }

    /// `peer` was refused, for `reason` (until it links).
    pub(crate) fn refused(&self, peer: &str, reason: String) {
        self.refused.send_modify(|refused| {
            refused.insert(peer.to_owned(), reason);
        });
    }

    /// The peers refused now, with why.
    pub(crate) fn watch_refused(&self) -> watch::Receiver<BTreeMap<String, String>> {
        self.refused.subscribe()
    }

    /// `link` is down: forgotten unless its peer already has a newer one.
    pub(crate) fn down(&self, link: &Arc<Link>) {
        let mut links = self.links.lock().unwrap();
        if links
            .get(link.peer())
            .is_some_and(|current| Arc::ptr_eq(current, link))
        {
            links.remove(link.peer());
            metrics::gauge!(telemetry::PEERS_LINKED).set(links.len() as f64);
            self.linked.send_modify(|linked| {
                linked.remove(link.peer());
            });
        }
    }

    /// The live link to `peer`.
    ///
    /// # Errors
    /// [`ServiceError::Unavailable`] if the peer is not linked now.
    pub(crate) fn get(&self, peer: &str) -> Result<Arc<Link>, ServiceError> {
        self.links
            .lock()
            .unwrap()
            .get(peer)
            .filter(|link| !link.is_down())
            .cloned()
            .ok_or_else(|| ServiceError::Unavailable(format!("peer {peer} is not linked")))
    }

    /// The link to `peer`, waiting up to `timeout` for it to come up (a peer's request can
    /// arrive just before this node finished its own hello to that peer).
    ///
    /// # Errors
    /// As [`Links::get`].
    pub(crate) async fn wait(
        &self,
        peer: &str,
        timeout: Duration,
    ) -> Result<Arc<Link>, ServiceError> {
        let mut linked = self.linked.subscribe();
        let _ =
            tokio::time::timeout(timeout, linked.wait_for(|linked| linked.contains(peer))).await;
        self.get(peer)
    }

    /// The ids of the peers linked now, updated on every change.
    pub(crate) fn watch(&self) -> watch::Receiver<BTreeSet<String>> {
        self.linked.subscribe()
    }
}
