//! Which member owns an office: rendezvous (highest random weight) hashing over the active
//! members of the tenant's region.
//!
//! Every member of `(tenant, office)`'s region gets a score, a hash of its id with the tenant and
//! office; the highest score owns the office. Every node computes the same owner from the same
//! view, without coordination. When a member joins, it takes exactly the offices for which it
//! scores highest; when one leaves (or drains), only its offices move, each to the member that
//! scored second. The hash is SHA-256 so that the owner does not depend on the build: nodes of
//! different versions agree during a rolling upgrade.

use sha2::{Digest, Sha256};
use tally_protocol::{OfficeId, TenantId};

use crate::membership::{ClusterView, Member};

/// The member of `view` that owns `office` of `tenant`, whose data lives in `region`: the
/// active member of that region with the highest score. `None` when the region has no active
/// member.
pub fn owner<'a>(
    view: &'a ClusterView,
    region: &str,
    tenant: &TenantId,
    office: &OfficeId,
) -> Option<&'a Member> {
    view.placement_targets(region)
        .max_by_key(|member| (score(&member.id, tenant, office), &member.id))
}

/// The rendezvous score of member `member_id` for `office` of `tenant`.
pub fn score(member_id: &str, tenant: &TenantId, office: &OfficeId) -> u64 {
    let mut hasher = Sha256::new();
    // Ids are slugs without NUL, so the separators make the input unambiguous.
    for part in [member_id, tenant.as_str(), office.as_str()] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;
    use crate::membership::{MemberState, PROTOCOL_VERSION};

    fn member(id: &str, region: &str, state: MemberState) -> Member {
        Member {
            id: id.to_string(),
            region: region.to_string(),
            cluster_addr: format!("{id}:8090"),
            http_addr: format!("{id}:8080"),
            state,
            protocol_version: PROTOCOL_VERSION,
        }
    }

    fn view_of(ids: &BTreeSet<String>) -> ClusterView {
        let members = ids
            .iter()
            .map(|id| (id.clone(), member(id, "eu", MemberState::Active)))
            .collect();
        ClusterView { epoch: 1, members }
    }

    fn offices(count: usize) -> Vec<(TenantId, OfficeId)> {
        (0..count)
            .map(|i| {
                let tenant = TenantId::new(format!("t-{}", i % 7)).unwrap();
                let office = OfficeId::new(format!("office-{i}")).unwrap();
                (tenant, office)
            })
            .collect()
    }

    fn owners(view: &ClusterView, offices: &[(TenantId, OfficeId)]) -> Vec<Option<String>> {
        offices
            .iter()
            .map(|(tenant, office)| owner(view, "eu", tenant, office).map(|m| m.id.clone()))
            .collect()
    }

    fn ids() -> impl Strategy<Value = BTreeSet<String>> {
        proptest::collection::btree_set("[a-z][a-z0-9-]{0,12}", 1..8)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn the_owner_depends_only_on_the_members_not_on_their_order(ids in ids()) {
            let offices = offices(50);
            let forward = view_of(&ids);
            // The same members inserted in reverse order.
            let mut reversed = ClusterView::default();
            for id in ids.iter().rev() {
                reversed.members.insert(id.clone(), member(id, "eu", MemberState::Active));
            }
            prop_assert_eq!(owners(&forward, &offices), owners(&reversed, &offices));
            prop_assert!(owners(&forward, &offices).iter().all(|o| o.as_ref().is_some_and(|id| ids.contains(id))));
        }

        #[test]
        fn a_joining_member_takes_offices_only_for_itself(ids in ids(), newcomer in "[a-z][a-z0-9-]{0,12}") {
            prop_assume!(!ids.contains(&newcomer));
            let offices = offices(200);
            let before = owners(&view_of(&ids), &offices);
            let mut grown = ids;
            grown.insert(newcomer.clone());
            let after = owners(&view_of(&grown), &offices);
            for (old, new) in before.iter().zip(&after) {
                prop_assert!(old == new || new.as_deref() == Some(newcomer.as_str()),
                    "moved from {:?} to {:?}", old, new);
            }
        }

        #[test]
        fn a_leaving_or_draining_member_gives_up_only_its_own_offices(ids in ids(), pick in any::<prop::sample::Index>()) {
            let offices = offices(200);
            let leaver = pick.get(&ids.iter().cloned().collect::<Vec<_>>()).clone();
            let full = view_of(&ids);
            let before = owners(&full, &offices);
            let mut left = ids;
            left.remove(&leaver);
            let mut draining = full;
            draining.members.get_mut(&leaver).unwrap().state = MemberState::Draining;
            for after in [owners(&view_of(&left), &offices), owners(&draining, &offices)] {
                for (old, new) in before.iter().zip(&after) {
                    if old.as_deref() != Some(leaver.as_str()) {
                        prop_assert_eq!(old, new);
                    } else {
                        prop_assert_ne!(new.as_deref(), Some(leaver.as_str()));
                    }
                }
            }
        }
    }

    #[test]
    fn only_active_members_of_the_tenants_region_own_offices() {
        let mut view = ClusterView::default();
        for m in [
            member("eu-1", "eu", MemberState::Joining),
            member("eu-2", "eu", MemberState::Draining),
            member("us-1", "us", MemberState::Active),
        ] {
            view.members.insert(m.id.clone(), m);
        }
        let tenant = TenantId::new("acme").unwrap();
        let office = OfficeId::new("hq").unwrap();
        assert_eq!(owner(&view, "eu", &tenant, &office), None);
        assert_eq!(owner(&view, "us", &tenant, &office).unwrap().id, "us-1");
    }

    #[test]
    fn offices_spread_over_the_members() {
        let ids: BTreeSet<String> = ["node-1", "node-2", "node-3"].map(String::from).into();
        let owners = owners(&view_of(&ids), &offices(3000));
        for id in &ids {
            let share = owners.iter().filter(|o| o.as_ref() == Some(id)).count();
            assert!((800..=1200).contains(&share), "{id} owns {share} of 3000");
        }
    }
}
