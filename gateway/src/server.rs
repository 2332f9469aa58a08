//! Starting and stopping a whole node: store, actors, router and the HTTP server.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use tally_cluster::{Node, StorageStatus};
use tally_config::Settings;
use tally_storage::SharedStore;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::api::ErasureConfirmations;
use crate::auth::{Authenticator, Identity, NodeSecrets};
use crate::listener;
use crate::routes::routes;
use crate::shutdown::Shutdown;
use crate::state::AppState;
use crate::telemetry;

/// A running node.
#[derive(Debug)]
pub struct RunningNode {
    addr: SocketAddr,
    secrets: NodeSecrets,
    node: Node,
    stop_http: oneshot::Sender<()>,
    http: JoinHandle<std::io::Result<()>>,
    shutdown: Shutdown,
}

/// How long a stopping node waits for its WebSockets to send the acks they owe and close.
const SESSION_PATIENCE: Duration = Duration::from_secs(10);

/// Opens the store the configuration names, starts the actors and serves HTTP.
///
/// # Errors
/// If the store cannot be opened, the secrets cannot be loaded, or the address cannot be bound.
pub async fn start(settings: Settings) -> anyhow::Result<RunningNode> {
    let store = tally_cluster::open_store(&settings).await?;
    start_with_store(settings, store).await
}

/// Starts the actors and serves HTTP over a given store (tests use it to inject storage faults).
///
/// # Errors
/// If the secrets cannot be loaded or the address cannot be bound.
pub async fn start_with_store(
    mut settings: Settings,
    store: SharedStore,
) -> anyhow::Result<RunningNode> {
    telemetry::install();
    let secrets = NodeSecrets::load_or_generate(&settings)?;
    let listener = tokio::net::TcpListener::bind(settings.node.http_addr)
        .await
        .with_context(|| format!("cannot listen on {}", settings.node.http_addr))?;
    let addr = listener.local_addr()?;
    // A cluster member publishes the address it serves HTTP on (the port picked, for port 0).
    settings
        .cluster
        .http_advertise_addr
        .get_or_insert_with(|| addr.to_string());
    let node = Node::start(&settings, store.clone()).await?;
    let identity = Identity::from_settings(&settings.auth, &secrets.jwt_secret)?;
    let mut auth = Authenticator::new(&secrets.admin_token, &secrets.jwt_secret)
        .with_metrics_token(&secrets.metrics_token)
        .with_identity(identity);
    if let Some(url) = &settings.auth.jwks_url {
        auth = auth.with_jwks_url(url)?;
        // An identity provider down at start does not keep the node (and its sensors) down:
        // its tokens are refused until a later fetch succeeds.
        if let Ok(key_ids) = auth.refresh_jwks().await {
            tracing::info!(?key_ids, "fetched the JWKS");
        }
    }
    crate::auth::reload_on_sighup(auth.clone(), settings.auth.clone());
    let tls = crate::tls::acceptor(&settings.http)?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let http_settings = settings.http.clone();
    let health = node.storage_health().clone();
    let erasure =
        ErasureConfirmations::new(&secrets.jwt_secret, settings.retention.erasure_confirm_ttl);
    let admin = (node.retention_sweeper().clone(), erasure, node.cluster());
    let shutdown = Shutdown::default();
    crate::auth::refresh_jwks_every(auth.clone(), settings.auth.jwks_refresh, shutdown.clone());
    let state = AppState::new(
        settings,
        store,
        node.router(),
        health,
        auth,
        admin,
        shutdown.clone(),
    )?;
    let (stop_http, stopped) = oneshot::channel();
    let app = routes(state);
    let http = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.await;
        };
        listener::serve(listener, app, &http_settings, tls, shutdown).await
    });
    tracing::info!(scheme, %addr, "listening");
    Ok(RunningNode {
        addr,
        secrets,
        node,
        stop_http,
        http,
        shutdown,
    })
}

impl RunningNode {
    /// The bound HTTP address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The superadmin token.
    pub fn admin_token(&self) -> &str {
        &self.secrets.admin_token
    }

    /// The node: its store, actors and router.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// Runs until `shutdown` resolves or the actor system stops on its own (the store failed
    /// for good, or a bug made the persister fail). Returns an error in the second case, so that
    /// the binary exits non-zero and its process supervisor restarts it.
    ///
    /// # Errors
    /// If the actor system stopped by itself or the HTTP server failed.
    pub async fn run_until(
        mut self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        tokio::select! {
            () = shutdown => {
                self.stop().await;
                Ok(())
            }
            () = self.node.exited() => {
                let _ = self.stop_http.send(());
                if let StorageStatus::Failed(reason) = self.node.storage_health().status() {
                    anyhow::bail!("the store failed for good ({reason}); exiting so that a process supervisor restarts the node, which recovers the store from its journal")
                }
                anyhow::bail!("the actor system stopped unexpectedly (see the log); exiting so that a supervisor restarts the node")
            }
            result = &mut self.http => {
                self.node.shutdown().await;
                result.context("http server task failed")?.context("http server failed")?;
                anyhow::bail!("the http server stopped unexpectedly")
            }
        }
    }

    /// Stops accepting connections; lets every open WebSocket send the acks it owes and close
    /// with 1001 (going away); waits for open requests and queued writes; stops the actors.
    pub async fn stop(self) {
        let _ = self.stop_http.send(());
        let left = self.shutdown.close_sessions(SESSION_PATIENCE).await;
        if left > 0 {
            tracing::warn!(left, patience = ?SESSION_PATIENCE, "WebSockets still open at shutdown; dropping them");
        }
        let _ = self.http.await;
        self.node.shutdown().await;
        match self.node.live_actors() {
            0 => tracing::info!("stopped"),
            left => tracing::warn!(left, "stopped, but some actors did not"),
        }
    }
}
