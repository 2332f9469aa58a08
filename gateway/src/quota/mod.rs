//! What one tenant may take of a node (`[quotas]`), so that a noisy neighbour cannot starve the
//! others: readings and API requests per second (token buckets, [`TenantRate`]), open
//! WebSockets (sensor and display), and — in `ingest/admission.rs` — its share of the in-flight
//! readings. Every refusal is `rate_limited` (HTTP 429 with `Retry-After`, WebSocket 4429) and is
//! counted in `tally_quota_refusals_total{tenant,quota}`.
//!
//! Each rate is first a token bucket on this node; with `cluster.enabled` what passes it is also
//! taken from a budget in Redis shared by every node ([`SharedBudget`], GCRA in a Lua script), so
//! that a tenant cannot get its rate once per node. A flood beyond the rate on one node is
//! refused by the local bucket without a Redis round trip; when Redis cannot answer, the local
//! bucket decides alone (see `shared.rs` for why that is the safe side).

mod rate;
mod shared;

use std::sync::Arc;
use std::time::Duration;

use tally_cluster::CoordinationConfig;
use tally_config::Settings;
use tally_protocol::TenantId;

pub(crate) use rate::TenantRate;
pub(crate) use shared::{SharedBudget, SharedVerdict};

use crate::auth::Principal;
use crate::error::ApiError;
use crate::slots::{Slot, Slots};

/// The per-tenant rates and connection quota of a node.
#[derive(Debug)]
pub(crate) struct TenantQuotas {
    /// Readings per second (WebSocket and HTTP together).
    readings: TenantRate,
    /// API requests per second of tenant tokens.
    api: TenantRate,
    /// The cluster-wide budgets behind both rates, when the node is in a cluster.
    shared: Option<SharedBudget>,
    /// Open sensor and display WebSockets per tenant.
    connections: Arc<Slots<TenantId>>,
}

/// A tenant's open WebSocket, counted against its quota until dropped.
pub(crate) type TenantConnection = Slot<TenantId>;

/// How long a client refused for its connection quota is told to wait.
const CONNECTION_RETRY: Duration = Duration::from_secs(5);

impl TenantQuotas {
    /// Quotas from the `[quotas]` settings, shared through the cluster's Redis when
    /// `cluster.enabled`.
    ///
    /// # Errors
    /// If the cluster's Redis URL is not one (validated settings always have a valid one).
    pub(crate) fn new(all: &Settings) -> anyhow::Result<Self> {
        let settings = &all.quotas;
        let shared = CoordinationConfig::from_settings(&all.cluster)
            .map(|config| SharedBudget::connect(&config))
            .transpose()?;
        Ok(Self {
            readings: TenantRate::new(
                "readings",
                settings.readings_per_second,
                settings.readings_burst,
            ),
            api: TenantRate::new(
                "requests",
                settings.api_requests_per_second,
                settings.api_burst,
            ),
            shared,
            connections: Slots::new(usize::MAX, settings.max_connections as usize),
        })
    }

    /// Counts one API request of `principal`; the node's admin token is not limited.
    ///
    /// # Errors
    /// `rate_limited` with the time to wait.
    pub(crate) async fn admit_request(&self, principal: &Principal) -> Result<(), ApiError> {
        match principal {
            Principal::Tenant { tenant, .. } => self.admit(&self.api, tenant, 1).await,
            Principal::SuperAdmin => Ok(()),
        }
    }

    /// Counts a batch of `readings` of `tenant`.
    ///
    /// # Errors
    /// `rate_limited` with the time to wait.
    pub(crate) async fn admit_readings(
        &self,
        tenant: &TenantId,
        readings: usize,
    ) -> Result<(), ApiError> {
        self.admit(&self.readings, tenant, readings).await
    }

    /// Takes `units` from the node's bucket, then from the cluster's budget.
    async fn admit(
        &self,
        rate: &TenantRate,
        tenant: &TenantId,
        units: usize,
    ) -> Result<(), ApiError> {
        rate.take(tenant, units)?;
        let Some(shared) = &self.shared else {
            return Ok(());
        };
        let units = u32::try_from(units).unwrap_or(u32::MAX);
        match shared.take(rate.what, tenant, units, rate.quota()).await {
            SharedVerdict::Taken | SharedVerdict::Unavailable => Ok(()),
            SharedVerdict::Wait(wait) => Err(rate.refusal(tenant, wait)),
        }
    }

    /// A place for one more open WebSocket of `tenant`.
    ///
    /// # Errors
    /// `rate_limited` when the tenant holds `quotas.max_connections` already.
    pub(crate) fn open_connection(&self, tenant: &TenantId) -> Result<TenantConnection, ApiError> {
        self.connections.take(tenant).ok_or_else(|| {
            crate::telemetry::quota_refused(tenant, "connections");
            ApiError::rate_limited(
                format!(
                    "the tenant has {} open connections on this node, the most allowed",
                    self.connections.max_per_key()
                ),
                CONNECTION_RETRY,
            )
        })
    }
}
