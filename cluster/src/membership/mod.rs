//! Cluster membership in Redis: who the members are, in which state, at which epoch.
//!
//! Each member has a record (a hash: id, region, addresses, state, protocol version) and a
//! heartbeat key with a TTL, renewed every `heartbeat_interval` by its [`Registration`]. Every
//! change (join, state change, leave, expiry) raises the epoch (`INCR`) and announces it on a
//! pub/sub channel, in the same Lua script as the change, so the epoch orders the changes.
//! A [`MembershipWatcher`] keeps a [`ClusterView`] current from the announcements plus a
//! periodic re-read (a missed announcement cannot leave the view stale), and removes members
//! whose heartbeat key expired. [`Membership`] runs both for a node.
//!
//! # When Redis is unavailable
//! The view is kept as it was (nobody is declared dead because Redis cannot be read), the
//! failure is counted and logged once, and `redis_up` turns false. When Redis answers again,
//! the watcher waits one `heartbeat_ttl` before publishing views again, so that every live
//! member has re-created its keys (after a restart without persistence Redis is empty) before
//! the view is trusted; the members' heartbeats re-create their keys by themselves, keeping the
//! epoch above the last one they saw. These rules are pure code in [`ViewHold`], which the
//! deterministic simulator drives too.

mod hold;
mod registration;
mod scripts;
mod status;
mod view;
mod watcher;

pub use hold::{ReadPlan, ReadSummary, Verdict, ViewHold};
pub use registration::Membership;
pub use status::{ClusterStatus, MemberStatus, cluster_status};
pub use view::{ClusterView, Member, MemberState, PROTOCOL_VERSION};
pub use watcher::MembershipWatcher;
