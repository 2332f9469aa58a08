//! [`Node`]: assembles a node's store, actors and router from its configuration.

use std::sync::Arc;

use tally_actors::{ActorSettings, NodeHandle, RestartPolicy};
use tally_config::Settings;
use tally_storage::{EmbeddedStore, SharedStore};
use tokio::task::JoinHandle;

use crate::{LocalRouter, SharedRouter};

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The store could not be opened.
    #[error("cannot open the store in {path}: {reason}")]
    Store {
        /// Where the store lives.
        path: String,
        /// What failed.
        reason: String,
    },
    /// The actor system could not start.
    #[error("cannot start the node supervisor: {0}")]
    Actors(String),
}

/// A running node: its store, its actors and the router the gateway talks to.
#[derive(Debug)]
pub struct Node {
    store: SharedStore,
    actors: NodeHandle,
    router: SharedRouter,
    exit: JoinHandle<()>,
}

/// The actor tunables a configuration asks for.
pub fn actor_settings(settings: &Settings) -> ActorSettings {
    ActorSettings {
        coalesce_interval: settings.display.coalesce_interval,
        restart: RestartPolicy {
            max_restarts: settings.supervision.max_restarts,
            window: settings.supervision.restart_window,
        },
        persister_max_batch_rows: settings.persister.max_batch_rows as usize,
        sensor_timeout: settings.ingest.sensor_timeout,
        ..ActorSettings::default()
    }
}

/// Opens the store the configuration names (the embedded store in `node.data_dir/store`).
///
/// # Errors
/// [`NodeError::Store`] if it cannot be opened.
pub fn open_store(settings: &Settings) -> Result<SharedStore, NodeError> {
    let dir = settings.node.data_dir.join("store");
    let store = EmbeddedStore::open(&dir).map_err(|err| NodeError::Store {
        path: dir.display().to_string(),
        reason: err.to_string(),
    })?;
    Ok(Arc::new(store))
}

impl Node {
    /// Starts the actors over `store` and the router over them.
    ///
    /// # Errors
    /// [`NodeError::Actors`] if the node supervisor could not start.
    pub async fn start(settings: &Settings, store: SharedStore) -> Result<Self, NodeError> {
        let (actors, exit) = NodeHandle::start(store.clone(), actor_settings(settings))
            .await
            .map_err(|err| NodeError::Actors(err.to_string()))?;
        let router: SharedRouter = Arc::new(LocalRouter::new(actors.clone(), store.clone()));
        Ok(Self {
            store,
            actors,
            router,
            exit,
        })
    }

    /// The router over this node's offices and rooms.
    pub fn router(&self) -> SharedRouter {
        self.router.clone()
    }

    /// The node's store.
    pub fn store(&self) -> SharedStore {
        self.store.clone()
    }

    /// The node's actor system (diagnostics and fault-injection tests; the gateway uses
    /// [`Node::router`]).
    pub fn actors(&self) -> &NodeHandle {
        &self.actors
    }

    /// How long callers wait for an actor's answer.
    pub fn call_timeout(&self) -> std::time::Duration {
        self.actors.settings().call_timeout
    }

    /// Actors of this node still alive (0 after [`Node::shutdown`]).
    pub fn live_actors(&self) -> usize {
        self.actors.live_actors()
    }

    /// Resolves when the actor system stopped by itself (a bug: the persister failed).
    pub async fn exited(&mut self) {
        let _ = (&mut self.exit).await;
    }

    /// Stops every actor in order: rooms finish what they were sent, their writes become
    /// durable, then the persister and the supervisors stop.
    pub async fn shutdown(&self) {
        self.actors.shutdown().await;
    }
}
