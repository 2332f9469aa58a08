//! Offices in a cluster: activated only under a claimed owner token, which every room write
//! carries; passivated with their writes durable; stopped, and nothing more acknowledged, once a
//! newer owner fenced them off.

use tally_actors::{
    Activation, ActorSettings, NodeHandle, OfficeStopReason, OfficeStopped, ServiceError,
    ingest_readings, send_readings,
};
use tally_protocol::{OfficeId, RoomId, SensorId, TenantId};
use tally_storage::Store;
use tokio::sync::broadcast;

mod support;

use support::{T0, TestNode, reading};

/// A cluster node (offices activate only when claimed) with offices `o1` (room `r1`) and `o2`
/// (room `r2`) of tenant `t`.
struct TwoOffices {
    test: TestNode,
    tenant: TenantId,
    offices: [OfficeId; 2],
    rooms: [RoomId; 2],
    sensor: SensorId,
}

impl TwoOffices {
    async fn start() -> Self {
        let settings = ActorSettings {
            activation: Activation::Claimed,
            ..ActorSettings::default()
        };
        let tenant = TenantId::new("t").unwrap();
        let offices = [OfficeId::new("o1").unwrap(), OfficeId::new("o2").unwrap()];
        let rooms = [RoomId::new("r1").unwrap(), RoomId::new("r2").unwrap()];
        let layout = [
            (offices[0].clone(), vec![rooms[0].clone()]),
            (offices[1].clone(), vec![rooms[1].clone()]),
        ];
        let test = TestNode::start_with(settings, &tenant, &layout).await;
        Self {
            test,
            tenant,
            offices,
            rooms,
            sensor: SensorId::new("s").unwrap(),
        }
    }

    fn node(&self) -> &NodeHandle {
        &self.test.node
    }

    /// Takes office `i`'s next owner token from the store (what a claiming node does).
    async fn claim(&self, i: usize) -> u64 {
        self.test
            .disk
            .acquire_office(&self.tenant, &self.offices[i])
            .await
            .unwrap()
    }

    async fn activate(&self, i: usize, token: u64) {
        self.node()
            .activate_office(&self.tenant, &self.offices[i], token)
            .await
            .unwrap();
    }

    /// Sends a batch to room `i` and waits for its answer.
    async fn ingest(&self, i: usize, seq: u64) -> Result<u64, ServiceError> {
        let room = self
            .node()
            .room(&self.tenant, &self.offices[i], &self.rooms[i])
            .await?;
        ingest_readings(
            &room,
            self.sensor.clone(),
            vec![reading(seq, seq as i64)],
            T0,
            ActorSettings::default().call_timeout,
        )
        .await
    }

    /// The sensor's durable dedup mark in room `i`.
    async fn stored_mark(&self, i: usize) -> u64 {
        self.test
            .disk
            .room_state(&self.tenant, &self.rooms[i])
            .await
            .unwrap()
            .map_or(0, |state| state.sensors[&self.sensor].last_seq)
    }
}

/// The next stop notice (they arrive as the offices stop).
async fn next_stop(stops: &mut broadcast::Receiver<OfficeStopped>) -> OfficeStopped {
    stops.recv().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claimed_node_serves_only_the_offices_it_activated_under_their_token() {
    let f = TwoOffices::start().await;
    let unclaimed = f.node().office(&f.tenant, &f.offices[0]).await;
    assert!(
        matches!(&unclaimed, Err(ServiceError::Unavailable(m)) if m.contains("not active")),
        "{unclaimed:?}"
    );

    // Token 1 is the store's: a room writing any lower token would be fenced off.
    let token = f.claim(0).await;
    assert!(token >= 1, "{token}");
    f.activate(0, token).await;
    assert_eq!(f.ingest(0, 1).await, Ok(1));
    assert_eq!(f.stored_mark(0).await, 1);

    // Activating again under the same token hands out the same office.
    let first = f.node().office(&f.tenant, &f.offices[0]).await.unwrap();
    let again = f
        .node()
        .activate_office(&f.tenant, &f.offices[0], token)
        .await
        .unwrap();
    assert_eq!(first.get_id(), again.get_id());
    // The other office is still not served.
    assert!(f.ingest(1, 1).await.is_err());
    f.test.stop_checked().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passivating_an_office_makes_its_writes_durable_and_stops_it() {
    let f = TwoOffices::start().await;
    let mut stops = f.node().office_stops();
    let token = f.claim(0).await;
    f.activate(0, token).await;
    let room = f
        .node()
        .room(&f.tenant, &f.offices[0], &f.rooms[0])
        .await
        .unwrap();
    // Ten batches in flight when the passivation starts: each is durable before it answers.
    let answers: Vec<_> = (1..=10)
        .map(|seq| send_readings(&room, f.sensor.clone(), vec![reading(seq, 1)], T0).unwrap())
        .collect();
    assert_eq!(
        f.node().passivate_office(&f.tenant, &f.offices[0]).await,
        Ok(true)
    );
    for (seq, answer) in (1..=10).zip(answers) {
        assert_eq!(answer.await.unwrap(), Ok(seq));
    }
    assert_eq!(f.stored_mark(0).await, 10);
    let stop = next_stop(&mut stops).await;
    assert_eq!(
        (stop.office.as_str(), stop.owner_token, stop.reason),
        ("o1", token, OfficeStopReason::Passivated)
    );
    assert!(
        f.ingest(0, 11).await.is_err(),
        "a passivated office is not served"
    );
    assert_eq!(
        f.node().passivate_office(&f.tenant, &f.offices[0]).await,
        Ok(false)
    );

    // A new activation (a new token) restores from storage: seq 10 is a duplicate.
    let next = f.claim(0).await;
    f.activate(0, next).await;
    assert_eq!(f.ingest(0, 10).await, Ok(10));
    assert_eq!(f.ingest(0, 11).await, Ok(11));
    f.test.stop_checked().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activating_under_a_newer_token_replaces_the_older_activation() {
    let f = TwoOffices::start().await;
    let mut stops = f.node().office_stops();
    let old = f.claim(0).await;
    f.activate(0, old).await;
    assert_eq!(f.ingest(0, 1).await, Ok(1));
    let new = f.claim(0).await;
    f.activate(0, new).await;
    let stop = next_stop(&mut stops).await;
    assert_eq!(
        (stop.owner_token, stop.reason),
        (old, OfficeStopReason::Passivated)
    );
    assert_eq!(
        f.ingest(0, 2).await,
        Ok(2),
        "the new activation writes under the new token"
    );
    f.test.stop_checked().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_office_fenced_off_by_a_newer_owner_acknowledges_nothing_more_and_stops() {
    let f = TwoOffices::start().await;
    let mut stops = f.node().office_stops();
    let (t1, t2) = (f.claim(0).await, f.claim(1).await);
    f.activate(0, t1).await;
    f.activate(1, t2).await;
    assert_eq!(f.ingest(0, 1).await, Ok(1));
    assert_eq!(f.ingest(1, 1).await, Ok(1));

    // Another node claims o1 (a higher token) while this one still serves it.
    let newer = f.claim(0).await;
    let refused = f.ingest(0, 2).await;
    assert!(
        matches!(&refused, Err(ServiceError::Unavailable(m)) if m.contains("moved")),
        "{refused:?}"
    );
    let stop = next_stop(&mut stops).await;
    assert_eq!(
        (stop.office.as_str(), stop.owner_token, stop.reason),
        ("o1", t1, OfficeStopReason::Fenced)
    );
    assert!(newer > t1);
    // Nothing of the refused batch was stored; the office is no longer served here.
    assert_eq!(f.stored_mark(0).await, 1);
    let gone = f.node().office(&f.tenant, &f.offices[0]).await;
    assert!(
        matches!(gone, Err(ServiceError::Unavailable(_))),
        "{gone:?}"
    );
    // The other office never noticed.
    assert_eq!(f.ingest(1, 2).await, Ok(2));
    assert_eq!(f.stored_mark(1).await, 2);
    assert!(
        f.node().quarantined().await.unwrap().is_empty(),
        "fencing is not a tenant fault"
    );
    f.test.stop_checked().await;
}
