//! The membership as an operator sees it (`tally ctl cluster status`).

use super::scripts;
use super::view::Member;
use crate::coordination::{CoordinationConfig, CoordinationError};

/// The membership read once from Redis, without changing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterStatus {
    /// The membership epoch.
    pub epoch: u64,
    /// Every registered member, by id.
    pub members: Vec<MemberStatus>,
}

/// One member as listed by [`cluster_status`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberStatus {
    /// Its record: state, region, addresses, protocol version.
    pub member: Member,
    /// Whether its heartbeat key is present (false: it will be expired at the next refresh
    /// of any member's watcher).
    pub heartbeating: bool,
}

/// Reads the members with their state, region and addresses, and the epoch. Read-only: a
/// member whose heartbeat expired is listed as not heartbeating rather than removed.
///
/// # Errors
/// [`CoordinationError`] if Redis cannot be reached or holds a record that cannot be read.
pub async fn cluster_status(
    config: &CoordinationConfig,
) -> Result<ClusterStatus, CoordinationError> {
    let mut conn = config.connect()?;
    let read = scripts::read_view(&mut conn, &config.keys(), false).await?;
    let mut members: Vec<MemberStatus> = read
        .members
        .into_iter()
        .map(|member| MemberStatus {
            heartbeating: !read.silent.contains(&member.id),
            member,
        })
        .collect();
    members.sort_by(|a, b| a.member.id.cmp(&b.member.id));
    Ok(ClusterStatus {
        epoch: read.epoch,
        members,
    })
}
