//! [`Node`]: assembles a node's store, actors and router from its configuration.

use std::sync::Arc;

use tally_actors::{
    Activation, ActorSettings, NodeHandle, RestartPolicy, RetentionSweeper, StorageHealth,
    WriteRetry,
};
use tally_config::{
    PostgresSettings, PostgresTls, RetentionSettings, ScyllaSettings, Settings, StorageBackend,
    redact_url,
};
use tally_storage::{
    EmbeddedStore, JournalLoss, PostgresConfig, PostgresStore, RetentionPolicy, ScyllaConfig,
    ScyllaConsistency, ScyllaStore, SharedStore, TlsMode,
};
use tokio::task::JoinHandle;

use crate::{ClusterNode, LocalRouter, SharedRouter};

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The store could not be opened.
    #[error("cannot open the {store}: {reason}")]
    Store {
        /// Which store: the embedded one in its directory, or PostgreSQL at its URL (password
        /// redacted).
        store: String,
        /// What failed.
        reason: String,
    },
    /// The actor system could not start.
    #[error("cannot start the node supervisor: {0}")]
    Actors(String),
    /// The node could not join its cluster.
    #[error("cannot start the cluster node: {0}")]
    Cluster(String),
}

/// A running node: its store, its actors and the router the gateway talks to.
#[derive(Debug)]
pub struct Node {
    store: SharedStore,
    actors: NodeHandle,
    router: SharedRouter,
    cluster: Option<Arc<ClusterNode>>,
    sweeper: RetentionSweeper,
    exit: JoinHandle<()>,
}

/// Gives every metric of the actors and of the cluster its Prometheus HELP text; call once the
/// metrics recorder is installed.
pub fn describe_metrics() {
    tally_actors::telemetry::describe();
    crate::coordination::telemetry::describe();
    crate::transport::telemetry::describe();
    crate::cluster_router::telemetry::describe();
}

/// The actor tunables a configuration asks for. A cluster node activates only the offices it
/// claimed ([`Activation::Claimed`]).
pub fn actor_settings(settings: &Settings) -> ActorSettings {
    ActorSettings {
        activation: if settings.cluster.enabled {
            Activation::Claimed
        } else {
            Activation::OnDemand
        },
        coalesce_interval: settings.display.coalesce_interval,
        restart: RestartPolicy {
            max_restarts: settings.supervision.max_restarts,
            window: settings.supervision.restart_window,
        },
        persister_max_batch_rows: settings.persister.max_batch_rows as usize,
        sensor_timeout: settings.ingest.sensor_timeout,
        rollup_lateness: settings.rollup.lateness,
        finalise_every: settings.rollup.finalise_every,
        write_retry: WriteRetry {
            retry_for: settings.persister.retry_for,
            ..WriteRetry::default()
        },
        ..ActorSettings::default()
    }
}

/// Opens the store `storage.backend` names: the embedded store in `node.data_dir/store`, or
/// PostgreSQL (connected, its runtime role checked to be subject to row-level security, its
/// schema migrated).
///
/// # Errors
/// [`NodeError::Store`] naming the store and why: the directory cannot be opened, or
/// PostgreSQL is unreachable, refuses the role, or the role bypasses row-level security.
pub async fn open_store(settings: &Settings) -> Result<SharedStore, NodeError> {
    match settings.storage.backend {
        StorageBackend::Embedded => {
            let dir = settings.node.data_dir.join("store");
            let loss = JournalLoss::accepted_if(settings.storage.embedded.accept_journal_loss);
            let store = EmbeddedStore::open_with(&dir, loss).map_err(|err| NodeError::Store {
                store: format!("embedded store in {}", dir.display()),
                reason: err.to_string(),
            })?;
            Ok(Arc::new(store))
        }
        StorageBackend::Postgres => {
            let config = postgres_config(&settings.storage.postgres);
            let store = PostgresStore::connect(&config)
                .await
                .map_err(|err| NodeError::Store {
                    store: format!("PostgreSQL store at {}", redact_url(&config.url)),
                    reason: err.to_string(),
                })?;
            Ok(Arc::new(store))
        }
        StorageBackend::Scylla => {
            let config = ScyllaConfig {
                default_retention: retention_defaults(&settings.retention),
                ..scylla_config(&settings.storage.scylla)
            };
            let store = Box::pin(ScyllaStore::connect(&config))
                .await
                .map_err(|err| NodeError::Store {
                    store: format!(
                        "ScyllaDB store at {} (keyspace {})",
                        config.contact_points.join(","),
                        config.keyspace
                    ),
                    reason: err.to_string(),
                })?;
            Ok(Arc::new(store))
        }
    }
}

/// The storage crate's configuration for `[storage.scylla]` (contact points split at commas;
/// unset ones become none, which [`ScyllaStore::connect`] rejects).
pub fn scylla_config(settings: &ScyllaSettings) -> ScyllaConfig {
    use tally_config::ScyllaConsistency as Setting;
    ScyllaConfig {
        contact_points: settings
            .contact_points
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|point| !point.is_empty())
            .map(str::to_owned)
            .collect(),
        keyspace: settings.keyspace.clone(),
        local_datacenter: settings.local_datacenter.clone(),
        replication_factor: settings.replication_factor,
        consistency: match settings.consistency {
            Setting::One => ScyllaConsistency::One,
            Setting::LocalOne => ScyllaConsistency::LocalOne,
            Setting::Quorum => ScyllaConsistency::Quorum,
            Setting::LocalQuorum => ScyllaConsistency::LocalQuorum,
            Setting::EachQuorum => ScyllaConsistency::EachQuorum,
            Setting::All => ScyllaConsistency::All,
        },
        request_timeout: settings.request_timeout,
        connect_timeout: settings.connect_timeout,
        username: settings.username.clone(),
        password: settings.password.clone(),
        tls: tls_mode(settings.tls),
        tls_ca_file: settings.tls_ca_file.clone(),
        ..ScyllaConfig::new(Vec::new())
    }
}

/// The storage crate's TLS mode of a TLS setting.
fn tls_mode(tls: PostgresTls) -> TlsMode {
    match tls {
        PostgresTls::Disable => TlsMode::Disable,
        PostgresTls::Require => TlsMode::Require,
    }
}

/// The node's default retention policy, from `[retention]`.
pub fn retention_defaults(settings: &RetentionSettings) -> RetentionPolicy {
    RetentionPolicy {
        readings: settings.readings,
        minute: settings.minute,
        fifteen_minutes: settings.fifteen_minutes,
        hour: settings.hour,
        day: settings.day,
    }
}

/// The storage crate's configuration for `[storage.postgres]` (an unset URL becomes an empty
/// one, which [`PostgresStore::connect`] rejects; validated settings always have one).
pub fn postgres_config(settings: &PostgresSettings) -> PostgresConfig {
    PostgresConfig {
        url: settings.url.clone().unwrap_or_default(),
        migrate_url: settings.migrate_url.clone(),
        schema: settings.schema.clone(),
        pool_size: settings.pool_size as usize,
        connect_timeout: settings.connect_timeout,
        statement_timeout: settings.statement_timeout,
        tls: tls_mode(settings.tls),
        tls_ca_file: settings.tls_ca_file.clone(),
        partition_ahead_days: settings.partition_ahead_days,
        partition_past_days: settings.partition_past_days,
    }
}

impl Node {
    /// Starts the actors over `store` and the router over them: with `cluster.enabled`, the
    /// node joins its cluster ([`ClusterNode`]) and routes with a [`crate::ClusterRouter`].
    ///
    /// # Errors
    /// [`NodeError::Actors`] if the node supervisor could not start, [`NodeError::Cluster`] if
    /// the node could not join its cluster.
    pub async fn start(settings: &Settings, store: SharedStore) -> Result<Self, NodeError> {
        tally_actors::configure_tenant_labels(tally_actors::TenantLabels::new(
            settings.metrics.tenant_labels.clone(),
            settings.metrics.top_tenants as usize,
        ));
        crate::alerted_series::register_alerted_series(settings.cluster.enabled);
        let (actors, exit) = NodeHandle::start(store.clone(), actor_settings(settings))
            .await
            .map_err(|err| NodeError::Actors(err.to_string()))?;
        let (router, cluster): (SharedRouter, _) = if settings.cluster.enabled {
            let cluster = match ClusterNode::start(settings, actors.clone(), store.clone()).await {
                Ok(cluster) => cluster,
                Err(err) => {
                    actors.shutdown().await;
                    return Err(err);
                }
            };
            (cluster.router(), Some(Arc::new(cluster)))
        } else {
            (
                Arc::new(LocalRouter::new(actors.clone(), store.clone())),
                None,
            )
        };
        let sweeper = RetentionSweeper::start(
            store.clone(),
            retention_defaults(&settings.retention),
            settings.retention.sweep_interval,
            actors.storage_health().clone(),
        );
        Ok(Self {
            store,
            actors,
            router,
            cluster,
            sweeper,
            exit,
        })
    }

    /// This node's part in its cluster; `None` for a single node.
    pub fn cluster(&self) -> Option<Arc<ClusterNode>> {
        self.cluster.clone()
    }

    /// The router over this node's offices and rooms.
    pub fn router(&self) -> SharedRouter {
        self.router.clone()
    }

    /// The node's retention sweeper (to run a sweep now).
    pub fn retention_sweeper(&self) -> &RetentionSweeper {
        &self.sweeper
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

    /// Whether the store takes writes now: the gateway refuses readings and reports not-ready
    /// while it does not.
    pub fn storage_health(&self) -> &StorageHealth {
        self.actors.storage_health()
    }

    /// How long callers wait for an actor's answer.
    pub fn call_timeout(&self) -> std::time::Duration {
        self.actors.settings().call_timeout
    }

    /// Actors of this node still alive (0 after [`Node::shutdown`]).
    pub fn live_actors(&self) -> usize {
        self.actors.live_actors()
    }

    /// Resolves when the actor system stopped by itself: the store failed for good (see
    /// [`Node::storage_health`]), or a bug made the persister fail.
    pub async fn exited(&mut self) {
        let _ = (&mut self.exit).await;
    }

    /// Stops every actor in order: rooms finish what they were sent, their writes become
    /// durable, then the persister and the supervisors stop. A cluster node first hands its
    /// offices off and leaves the cluster.
    pub async fn shutdown(&self) {
        if let Some(cluster) = &self.cluster {
            cluster.stop().await;
        }
        self.sweeper.stop();
        self.actors.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_defaults_are_the_storage_crate_defaults() {
        assert_eq!(
            retention_defaults(&RetentionSettings::default()),
            RetentionPolicy::default()
        );
    }

    #[test]
    fn postgres_defaults_are_the_storage_crate_defaults() {
        let settings = PostgresSettings {
            url: Some("postgres://app@db/tally".into()),
            ..PostgresSettings::default()
        };
        assert_eq!(
            postgres_config(&settings),
            PostgresConfig::new("postgres://app@db/tally")
        );
    }

    #[test]
    fn scylla_defaults_are_the_storage_crate_defaults() {
        let settings = ScyllaSettings {
            contact_points: Some(" db-1:9042,,db-2:9042 ".into()),
            ..ScyllaSettings::default()
        };
        assert_eq!(
            scylla_config(&settings),
            ScyllaConfig::new(vec!["db-1:9042".into(), "db-2:9042".into()])
        );
    }
}
