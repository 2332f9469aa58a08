//! What the cluster tests check against the shared store and the nodes' metrics.

use std::collections::BTreeMap;

use tally_storage::SharedStore;

use tally_cluster::membership::MemberState;

use super::super::ADMIN_TOKEN;
use super::super::load::{LoadSensor, count_for, eventually};
use super::super::outage::stored;
use super::{Cluster, ProvisionedOffice};

impl Cluster {
    /// The shared store, opened by the test as the nodes open it (on PostgreSQL as the
    /// runtime role: row-level security applies).
    pub async fn store(&self) -> SharedStore {
        self.shared_store.connect().await
    }

    /// The value of counter `name` (summed over its labels) on node `index`; 0 if it was
    /// never incremented.
    pub async fn counter(&self, index: usize, name: &str) -> f64 {
        let (status, text) = self.api(index).get("/metrics", ADMIN_TOKEN).await;
        assert_eq!(status, 200, "metrics of node {index}: {text}");
        let text = text.as_str().expect("metrics are text").to_owned();
        text.lines()
            .filter(|line| {
                line.strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
            })
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
}

/// Checks that the stored readings of `room` (one sensor, `{room}-s`) are exactly seqs
/// `1..=mark` with the counts the sensor sent, with no seq twice, and that `mark` covers
/// everything acknowledged (`acked`); returns `mark`. What lies past `acked` was sent and
/// became durable without its ack arriving; the sensor resent it after `welcome.last_seq`,
/// and deduplication kept one copy.
pub async fn assert_exactly_acknowledged(
    store: &SharedStore,
    tenant: &str,
    room: &str,
    acked: u64,
) -> u64 {
    let stored: BTreeMap<u64, u32> = stored(store, tenant, room).await;
    let mark = stored.keys().next_back().copied().unwrap_or(0);
    assert!(
        mark >= acked,
        "{room}: acknowledged up to {acked}, stored only up to {mark}"
    );
    let expected: BTreeMap<u64, u32> = (1..=mark).map(|seq| (seq, count_for(seq) as u32)).collect();
    if stored != expected {
        let missing: Vec<u64> = (1..=mark).filter(|seq| !stored.contains_key(seq)).collect();
        panic!("{room}: stored readings are not exactly 1..={mark}; missing {missing:?}");
    }
    mark
}

impl Cluster {
    /// Asks node `via` to drain node `index` through the admin API, then waits until `index`
    /// is draining (or gone) and holds the lease of none of `offices` of tenant `acme`.
    pub async fn drain(&self, via: usize, index: usize, offices: &[ProvisionedOffice]) {
        let drained = self.id(index).to_owned();
        let (status, answer) = self
            .api(via)
            .post(
                &format!("/v1/admin/cluster/nodes/{drained}/drain"),
                ADMIN_TOKEN,
                serde_json::json!({}),
            )
            .await;
        assert!(status < 300, "drain accepted: {status} {answer}");
        self.await_view(&format!("{drained} draining"), |view| {
            view.member(&drained)
                .is_none_or(|member| member.state == MemberState::Draining)
        })
        .await;
        eventually("the drained node holds no office", async || {
            let mut none = true;
            for office in offices {
                let holder = self.lease_holder("acme", &office.office).await;
                none &= holder.is_some() && holder.as_deref() != Some(drained.as_str());
            }
            none
        })
        .await;
    }

    /// Stops `sensors` (one per office of tenant `acme`, on its first room) and checks how a
    /// run under load ended: each office was active on one node at a time with rising tokens,
    /// some moved (more activations than offices), and each office's first room stored
    /// exactly what its sensor had acknowledged plus what it resent. Each room's stored mark.
    pub async fn stop_and_account(
        &self,
        sensors: Vec<LoadSensor>,
        offices: &[ProvisionedOffice],
    ) -> Vec<u64> {
        let mut acked = Vec::new();
        for sensor in sensors {
            acked.push(sensor.stop().await);
        }
        // The new owners activated after the old ones let go or died.
        let activations = self.ledger.assert_single_activation();
        assert!(
            activations > offices.len(),
            "{activations} activations recorded"
        );
        let store = self.store().await;
        let mut marks = Vec::new();
        for (office, acked) in offices.iter().zip(acked) {
            marks
                .push(assert_exactly_acknowledged(&store, "acme", &office.rooms[0].0, acked).await);
        }
        marks
    }
}
