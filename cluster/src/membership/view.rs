//! A member's record and the view of all members at one epoch.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

use crate::coordination::CoordinationError;

/// Version of the inter-node protocol this build speaks, published in its member record.
pub const PROTOCOL_VERSION: u32 = crate::transport::PROTOCOL_VERSION;

/// Where a member is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MemberState {
    /// Registered, not yet taking offices.
    Joining,
    /// Takes offices: a placement target.
    Active,
    /// Handing its offices over: listed, but no longer a placement target.
    Draining,
    /// Left the cluster (its record is removed, so views never list it).
    Left,
}

impl MemberState {
    /// The state as stored in Redis and shown to operators.
    pub fn as_str(self) -> &'static str {
        match self {
            MemberState::Joining => "joining",
            MemberState::Active => "active",
            MemberState::Draining => "draining",
            MemberState::Left => "left",
        }
    }
}

impl fmt::Display for MemberState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for MemberState {
    type Err = String;

    fn from_str(text: &str) -> Result<MemberState, String> {
        [
            MemberState::Joining,
            MemberState::Active,
            MemberState::Draining,
            MemberState::Left,
        ]
        .into_iter()
        .find(|state| state.as_str() == text)
        .ok_or_else(|| format!("unknown state {text:?}"))
    }
}

/// One member's record: who it is and where its peers and clients reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The node id (`node.node_id`).
    pub id: String,
    /// The region whose tenants it serves (`node.region`).
    pub region: String,
    /// host:port of its inter-node listener.
    pub cluster_addr: String,
    /// host:port of its HTTP gateway.
    pub http_addr: String,
    /// Its state.
    pub state: MemberState,
    /// The inter-node protocol version it speaks.
    pub protocol_version: u32,
}

impl Member {
    /// The record as hash fields, in the order the scripts write them.
    pub(crate) fn to_fields(&self) -> [(&'static str, String); 6] {
        [
            ("id", self.id.clone()),
            ("region", self.region.clone()),
            ("cluster_addr", self.cluster_addr.clone()),
            ("http_addr", self.http_addr.clone()),
            ("state", self.state.as_str().to_string()),
            ("protocol_version", self.protocol_version.to_string()),
        ]
    }

    /// The record read back from its hash fields.
    pub(crate) fn from_fields(
        mut fields: HashMap<String, String>,
    ) -> Result<Member, CoordinationError> {
        let id = fields.remove("id").unwrap_or_default();
        let malformed = |problem: String| CoordinationError::MalformedMember {
            id: id.clone(),
            problem,
        };
        let mut take = |name: &str| {
            fields
                .remove(name)
                .ok_or_else(|| malformed(format!("no field {name:?}")))
        };
        let region = take("region")?;
        let cluster_addr = take("cluster_addr")?;
        let http_addr = take("http_addr")?;
        let state = take("state")?.parse().map_err(malformed)?;
        let version = take("protocol_version")?;
        let protocol_version = version
            .parse()
            .map_err(|_| malformed(format!("protocol_version {version:?} is not a number")))?;
        Ok(Member {
            id: id.clone(),
            region,
            cluster_addr,
            http_addr,
            state,
            protocol_version,
        })
    }
}

/// The members of the cluster as of one epoch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterView {
    /// The membership epoch: raised by every change; a larger epoch is a later view.
    pub epoch: u64,
    /// The members by id (joining, active and draining; departed and expired ones are gone).
    pub members: BTreeMap<String, Member>,
}

impl ClusterView {
    /// The member with `id`, if listed.
    pub fn member(&self, id: &str) -> Option<&Member> {
        self.members.get(id)
    }

    /// The members that may own offices of `region`: active ones of that region.
    pub fn placement_targets<'v, 'r>(
        &'v self,
        region: &'r str,
    ) -> impl Iterator<Item = &'v Member> + use<'v, 'r> {
        self.members
            .values()
            .filter(move |m| m.state == MemberState::Active && m.region == region)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_as_written_and_a_broken_one_names_its_problem() {
        let member = Member {
            id: "node-1".into(),
            region: "eu".into(),
            cluster_addr: "10.0.0.1:8090".into(),
            http_addr: "10.0.0.1:8080".into(),
            state: MemberState::Draining,
            protocol_version: 3,
        };
        let fields: HashMap<String, String> = member
            .to_fields()
            .into_iter()
            .map(|(name, value)| (name.to_string(), value))
            .collect();
        assert_eq!(Member::from_fields(fields.clone()).unwrap(), member);

        let mut broken = fields;
        broken.insert("state".into(), "sleeping".into());
        let error = Member::from_fields(broken).unwrap_err().to_string();
        assert_eq!(
            error,
            "malformed member record \"node-1\" in redis: unknown state \"sleeping\""
        );
    }
}
