//! [`AppState`]: what every handler shares.

use std::sync::Arc;

use axum::extract::FromRef;
use tally_cluster::{ClusterNode, RetentionSweeper, SharedRouter, StorageHealth};
use tally_config::Settings;
use tally_protocol::Limits;
use tally_storage::SharedStore;

use crate::api::ErasureConfirmations;
use crate::audit::Audit;
use crate::auth::{Authenticator, Revocations};
use crate::ingest::{NodeAdmission, SensorKeyEvents};
use crate::quota::TenantQuotas;
use crate::shutdown::Shutdown;

/// Everything a handler needs; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct AppState(Arc<AppInner>);

/// The inside of [`AppState`].
#[derive(Debug)]
pub(crate) struct AppInner {
    /// The node's configuration.
    pub(crate) settings: Settings,
    /// Durable storage (registry reads and writes).
    pub(crate) store: SharedStore,
    /// Offices and rooms to their handles.
    pub(crate) router: SharedRouter,
    /// Token verification and minting.
    pub(crate) auth: Arc<Authenticator>,
    /// The node's copies of tenants' token revocations, checked with every tenant JWT.
    pub(crate) revocations: Arc<Revocations>,
    /// Sensor key revocations and sensor deletions made here, for the open sensor sockets.
    pub(crate) sensor_keys: SensorKeyEvents,
    /// Decoding limits from the configuration.
    pub(crate) limits: Limits,
    /// The node-wide bound on readings admitted and not yet acknowledged.
    pub(crate) admission: NodeAdmission,
    /// Per-tenant rate limits and connection quota.
    pub(crate) quotas: Arc<TenantQuotas>,
    /// The stop signal of open WebSockets, and their count.
    pub(crate) shutdown: Shutdown,
    /// Whether the store takes writes: readings are refused and `/readyz` answers 503 while not.
    pub(crate) health: StorageHealth,
    /// The node's retention sweeper (admin: sweep now).
    pub(crate) sweeper: RetentionSweeper,
    /// Mints and checks the confirmations of tenant erasures.
    pub(crate) erasure: ErasureConfirmations,
    /// The audit log's writer.
    pub(crate) audit: Audit,
    /// This node's part in its cluster (admin: status, drain); `None` for a single node.
    pub(crate) cluster: Option<Arc<ClusterNode>>,
}

impl std::ops::Deref for AppState {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl FromRef<AppState> for Arc<Authenticator> {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}

impl FromRef<AppState> for Arc<TenantQuotas> {
    fn from_ref(state: &AppState) -> Self {
        state.quotas.clone()
    }
}

impl AppState {
    /// Shared state over its parts.
    pub(crate) fn new(
        settings: Settings,
        store: SharedStore,
        router: SharedRouter,
        health: StorageHealth,
        auth: Authenticator,
        admin: (
            RetentionSweeper,
            ErasureConfirmations,
            Option<Arc<ClusterNode>>,
        ),
        shutdown: Shutdown,
    ) -> anyhow::Result<Self> {
        let ingest = &settings.ingest;
        let limits = Limits {
            max_frame_bytes: ingest.max_frame_bytes as usize,
            max_batch_items: ingest.max_batch_items as usize,
            max_count: ingest.max_count,
            max_future_skew_ms: i64::try_from(ingest.max_future_skew.as_millis())
                .unwrap_or(i64::MAX),
        };
        let admission = NodeAdmission::new(ingest.node_inflight, settings.quotas.max_inflight);
        let quotas = Arc::new(TenantQuotas::new(&settings)?);
        let revocations = Arc::new(Revocations::new(
            Arc::clone(&store),
            settings.auth.revocation_refresh,
        ));
        let audit = Audit::start(Arc::clone(&store), settings.retention.audit);
        Ok(Self(Arc::new(AppInner {
            audit,
            revocations,
            sensor_keys: SensorKeyEvents::new(),
            settings,
            store,
            router,
            auth: Arc::new(auth),
            limits,
            admission,
            quotas,
            shutdown,
            health,
            sweeper: admin.0,
            erasure: admin.1,
            cluster: admin.2,
        })))
    }
}
