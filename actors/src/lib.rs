//! The actors of a tally node (ractor): node supervisor → tenant supervisor → office → room,
//! the persister (group commit, acknowledge only when durable) and the display fan-out.
//!
//! ractor has no restart strategies and stops a supervisor when any child exits by default:
//! every supervisor here overrides `handle_supervisor_evt` and applies a [`RestartPolicy`].
//! Mailboxes are unbounded, so work is bounded at the edges (the gateway's in-flight window per
//! sensor connection) and each display has one frame slot with conflation.

mod anchor_wanted;
mod announcements;
mod census;
mod display_fanout;
mod error;
mod fencing;
mod frame_slot;
mod node;
mod office;
mod office_rollups;
mod office_rollups_task;
mod office_stops;
mod persister;
mod restart_policy;
mod retention_sweeper;
mod rollup;
mod room;
mod room_live;
mod room_rollups;
mod settings;
mod storage_health;
mod supervision;
pub mod telemetry;
mod tenant;
mod tenant_labels;
mod write_retry;

pub use anchor_wanted::AnchorWanted;
pub use display_fanout::DisplaySink;
pub use error::ServiceError;
pub use frame_slot::{FrameSlotReceiver, FrameSlotSender, Offered, frame_slot};
pub use node::{NodeHandle, NodeMsg};
pub use office::{OfficeMsg, office_occupancy, subscribe_display};
pub use office_rollups::{
    FINALISE_EVERY, FinaliseStep, MAX_STEP, MAX_TENANT_STEP, OfficeRollups, ROOMS_PER_READ,
    anchor_office,
};
pub use office_stops::{OfficeStopReason, OfficeStopped};
pub use restart_policy::RestartPolicy;
pub use retention_sweeper::RetentionSweeper;
pub use rollup::{RollupRules, RoomRollups};
pub use room::{AckReceiver, RoomMsg, await_ack, ingest_readings, send_readings};
pub use room_live::RoomLive;
pub use settings::{Activation, ActorSettings};
pub use storage_health::{StorageHealth, StorageStatus};
pub use tenant::{OfficeActivation, TenantMsg};
pub use tenant_labels::{
    DEFAULT_TOP_TENANTS, OTHER_TENANTS, TenantLabels, configure_tenant_labels, tenant_label,
};
pub use write_retry::WriteRetry;
