//! Tunables of the actor system (the gateway maps the node's configuration onto these).

use std::time::Duration;

use crate::{RestartPolicy, WriteRetry};

/// Tunables of the actor system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActorSettings {
    /// An office publishes at most one display delta per interval.
    pub coalesce_interval: Duration,
    /// Restart intensity of every supervisor.
    pub restart: RestartPolicy,
    /// Most rows in one group commit.
    pub persister_max_batch_rows: usize,
    /// How long a caller waits for an actor's answer.
    pub call_timeout: Duration,
    /// A sensor silent this long (node time) stops counting in its room.
    pub sensor_timeout: Duration,
    /// How far behind a room's rolled-up part a late reading still corrects its rollups.
    pub rollup_lateness: Duration,
    /// How the persister retries a group commit that failed transiently.
    pub write_retry: WriteRetry,
    /// Whether offices activate on demand (a single node) or only when claimed (a cluster).
    pub activation: Activation,
    /// How often an office activation's finaliser looks for area rollups to finalise once
    /// caught up (and, in an office that is not its tenant's anchor, asks for the anchor).
    pub finalise_every: Duration,
}

/// How a node's offices come to be active.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Activation {
    /// A single node: looking up an office or room activates the office, with owner token 0.
    #[default]
    OnDemand,
    /// A cluster: only offices activated with [`crate::NodeHandle::activate_office`] (under the
    /// owner token the node claimed) are served; looking up any other office answers
    /// `unavailable` and activates nothing.
    Claimed,
}

impl Default for ActorSettings {
    fn default() -> Self {
        Self {
            coalesce_interval: Duration::from_millis(50),
            restart: RestartPolicy::default(),
            persister_max_batch_rows: 4096,
            call_timeout: Duration::from_secs(10),
            sensor_timeout: Duration::from_secs(600),
            rollup_lateness: Duration::from_secs(3_600),
            write_retry: WriteRetry::default(),
            activation: Activation::OnDemand,
            finalise_every: crate::FINALISE_EVERY,
        }
    }
}
