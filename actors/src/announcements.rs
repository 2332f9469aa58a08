//! [`Announcements`]: what a node tells whoever listens (the cluster's router) about its
//! offices: that one stopped, that a tenant's anchor office is wanted.

use tokio::sync::broadcast;

/// How many announcements wait for a slow listener before it misses some.
const CAPACITY: usize = 1024;

/// A node-wide channel of announcements of one kind; cheap to clone.
#[derive(Debug)]
pub(crate) struct Announcements<T>(broadcast::Sender<T>);

impl<T> Clone for Announcements<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T: Clone> Announcements<T> {
    /// A channel nobody listens to yet.
    pub(crate) fn new() -> Self {
        Self(broadcast::channel(CAPACITY).0)
    }

    /// Announces `item` (dropped if nobody listens).
    pub(crate) fn announce(&self, item: T) {
        let _ = self.0.send(item);
    }

    /// Announcements made from now on.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<T> {
        self.0.subscribe()
    }
}
