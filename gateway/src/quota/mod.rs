//! What one tenant may take of a node (`[quotas]`), so that a noisy neighbour cannot starve the
//! others: readings and API requests per second (token buckets, [`TenantRate`]), open
//! WebSockets (sensor and display), and — in `ingest/admission.rs` — its share of the in-flight
//! readings. Every refusal is `rate_limited` (HTTP 429 with `Retry-After`, WebSocket 4429) and is
//! counted in `tally_quota_refusals_total{tenant,quota}`.
//!
//! The buckets are local to the node; a cluster will back them with a budget shared by all nodes.

mod rate;

use std::sync::Arc;
use std::time::Duration;

use tally_config::QuotaSettings;
use tally_protocol::TenantId;

pub(crate) use rate::TenantRate;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::slots::{Slot, Slots};

/// The per-tenant rates and connection quota of a node.
#[derive(Debug)]
pub(crate) struct TenantQuotas {
    /// Readings per second (WebSocket and HTTP together).
    pub(crate) readings: TenantRate,
    /// API requests per second of tenant tokens.
    api: TenantRate,
    /// Open sensor and display WebSockets per tenant.
    connections: Arc<Slots<TenantId>>,
}

/// A tenant's open WebSocket, counted against its quota until dropped.
pub(crate) type TenantConnection = Slot<TenantId>;

/// How long a client refused for its connection quota is told to wait.
const CONNECTION_RETRY: Duration = Duration::from_secs(5);

impl TenantQuotas {
    /// Quotas from the `[quotas]` settings.
    pub(crate) fn new(settings: &QuotaSettings) -> Self {
        Self {
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
            connections: Slots::new(usize::MAX, settings.max_connections as usize),
        }
    }

    /// Counts one API request of `principal`; the node's admin token is not limited.
    ///
    /// # Errors
    /// `rate_limited` with the time to wait.
    pub(crate) fn admit_request(&self, principal: &Principal) -> Result<(), ApiError> {
        match principal {
            Principal::Tenant { tenant, .. } => self.api.take(tenant, 1),
            Principal::SuperAdmin => Ok(()),
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
