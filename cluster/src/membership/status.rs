//! The membership as an operator sees it (`tally ctl cluster status`), with the offices each
//! member said it holds at its last heartbeat.

use std::fmt;

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
    /// The offices it said it holds at its last heartbeat (`None` before it published a count).
    pub offices_held: Option<usize>,
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
            offices_held: read.offices_held.get(&member.id).copied(),
            member,
        })
        .collect();
    members.sort_by(|a, b| a.member.id.cmp(&b.member.id));
    Ok(ClusterStatus {
        epoch: read.epoch,
        members,
    })
}

/// A table for operators: the epoch, then one line per member.
impl fmt::Display for ClusterStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "epoch {}, {} members", self.epoch, self.members.len())?;
        writeln!(
            f,
            "{:<24} {:<9} {:<12} {:<24} {:<24} {:>8} {:>7} heartbeat",
            "node", "state", "region", "cluster_addr", "http_addr", "protocol", "offices"
        )?;
        for MemberStatus {
            member,
            heartbeating,
            offices_held,
        } in &self.members
        {
            let offices = offices_held.map_or_else(|| "?".to_owned(), |n| n.to_string());
            writeln!(
                f,
                "{:<24} {:<9} {:<12} {:<24} {:<24} {:>8} {:>7} {}",
                member.id,
                member.state,
                member.region,
                member.cluster_addr,
                member.http_addr,
                member.protocol_version,
                offices,
                if *heartbeating { "ok" } else { "expired" }
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::membership::MemberState;

    #[test]
    fn the_status_table_has_a_line_per_member() {
        let status = ClusterStatus {
            epoch: 7,
            members: vec![MemberStatus {
                member: Member {
                    id: "node-1".into(),
                    region: "eu".into(),
                    cluster_addr: "10.0.0.1:8090".into(),
                    http_addr: "10.0.0.1:8080".into(),
                    state: MemberState::Draining,
                    protocol_version: 1,
                },
                heartbeating: false,
                offices_held: Some(12),
            }],
        };
        let table = status.to_string();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "epoch 7, 1 members");
        assert_eq!(&lines[2][25..35], "draining  ", "columns are padded");
        let fields: Vec<&str> = lines[2].split_whitespace().collect();
        assert_eq!(
            fields,
            [
                "node-1",
                "draining",
                "eu",
                "10.0.0.1:8090",
                "10.0.0.1:8080",
                "1",
                "12",
                "expired"
            ]
        );
    }
}
