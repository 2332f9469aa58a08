//! Activation is concurrent and off the supervisors' message loops: an office whose rooms are slow
//! to restore does not hold up the other offices of its tenant, its rooms start all at once, and
//! every request for an office that is starting is answered by that one activation.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ractor::ActorRef;
use tally_actors::{
    NodeMsg, OfficeActivation, OfficeMsg, ServiceError, TenantMsg, ingest_readings,
    office_occupancy,
};
use tally_protocol::{DisplayFrame, OfficeId, Reading, RoomId, SensorId, TenantId};
use tally_storage::{CountMode, FaultInjectingStore, Room, Store};
use tokio::sync::{oneshot, watch};

mod support;

use support::TestNode;

const T0: i64 = 1_764_000_000_000;
/// Rooms of the slow office.
const SLOW_ROOMS: usize = 200;
/// How long a test waits for something that must happen before it fails (never a pause).
const PATIENCE: Duration = Duration::from_secs(30);

/// Reads of the store matching a filter wait at a gate until the test opens it; the test sees
/// how many such reads began.
#[derive(Clone)]
struct Gate {
    open: watch::Sender<bool>,
    arrived: Arc<AtomicUsize>,
    arrivals: watch::Sender<usize>,
}

impl Gate {
    fn install(
        disk: &FaultInjectingStore,
        filter: impl Fn(&'static str, &str) -> bool + Send + Sync + 'static,
    ) -> Self {
        let gate = Self {
            open: watch::Sender::new(false),
            arrived: Arc::new(AtomicUsize::new(0)),
            arrivals: watch::Sender::new(0),
        };
        let hook = gate.clone();
        disk.delay_reads(move |method, id| {
            if !filter(method, id) {
                return Box::pin(async {});
            }
            let n = hook.arrived.fetch_add(1, Ordering::SeqCst) + 1;
            // Reads arrive concurrently: a later count must never be overwritten by an earlier
            // one that was sent after it.
            hook.arrivals.send_modify(|seen| *seen = (*seen).max(n));
            let mut open = hook.open.subscribe();
            Box::pin(async move {
                let _ = open.wait_for(|open| *open).await;
            })
        });
        gate
    }

    /// Waits until at least `n` gated reads began.
    async fn arrived(&self, n: usize) {
        let mut arrivals = self.arrivals.subscribe();
        tokio::time::timeout(PATIENCE, arrivals.wait_for(|seen| *seen >= n))
            .await
            .unwrap_or_else(|_| panic!("only {} of {n} gated reads began", self.count()))
            .unwrap();
    }

    fn count(&self) -> usize {
        self.arrived.load(Ordering::SeqCst)
    }

    fn open(&self) {
        self.open.send_replace(true);
    }
}

struct Fixture {
    test: TestNode,
    tenant: TenantId,
    slow: OfficeId,
    quick: OfficeId,
}

/// One tenant with a slow office of [`SLOW_ROOMS`] rooms (`a000`…) and a quick office of one
/// room (`b000`).
async fn fixture() -> Fixture {
    let tenant = TenantId::new("t").unwrap();
    let (slow, quick) = (OfficeId::new("a").unwrap(), OfficeId::new("b").unwrap());
    let offices = [(&slow, SLOW_ROOMS), (&quick, 1)].map(|(office, rooms)| {
        (
            office.clone(),
            (0..rooms).map(|i| room_id(office, i)).collect(),
        )
    });
    Fixture {
        test: TestNode::start(&tenant, &offices).await,
        tenant,
        slow,
        quick,
    }
}

fn room_id(office: &OfficeId, i: usize) -> RoomId {
    RoomId::new(format!("{office}{i:03}")).unwrap()
}

fn is_slow_room(id: &str) -> bool {
    id.starts_with('a')
}

impl Fixture {
    /// Sends one reading to a room (through `NodeHandle::room`) and waits for its ack.
    async fn ingest(&self, office: &OfficeId, seq: u64, count: i64) -> Result<u64, ServiceError> {
        let room = self
            .test
            .node
            .room(&self.tenant, office, &room_id(office, 0))
            .await?;
        let reading = Reading {
            seq,
            ts: T0 + seq as i64 * 1000,
            count,
        };
        let timeout = self.test.node.settings().call_timeout;
        ingest_readings(
            &room,
            SensorId::new("s").unwrap(),
            vec![reading],
            T0,
            timeout,
        )
        .await
    }

    async fn tenant_actor(&self) -> ActorRef<TenantMsg> {
        let node = ActorRef::<NodeMsg>::from(self.test.node.cell());
        let tenant = self.tenant.clone();
        node.call(|reply| NodeMsg::GetTenant { tenant, reply }, Some(PATIENCE))
            .await
            .unwrap()
            .unwrap()
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_office_does_not_hold_up_its_sibling_and_its_rooms_start_together() {
    let f = fixture().await;
    let gate = Gate::install(&f.test.disk, |method, id| {
        method == "room_state" && is_slow_room(id)
    });
    let slow = tokio::spawn({
        let (node, tenant, office) = (f.test.node.clone(), f.tenant.clone(), f.slow.clone());
        async move { node.room(&tenant, &office, &room_id(&office, 0)).await }
    });
    gate.arrived(1).await;
    // While the slow office activates, its sibling activates and acknowledges readings (behind
    // the slow office, this would wait for the gate that opens only afterwards, and time out).
    assert_eq!(f.ingest(&f.quick, 1, 4).await, Ok(1));
    assert_eq!(f.ingest(&f.quick, 2, 5).await, Ok(2));
    let quick = f.test.node.office(&f.tenant, &f.quick).await.unwrap();
    let frame = office_occupancy(&quick, None, PATIENCE).await.unwrap();
    assert!(
        matches!(frame, DisplayFrame::Snapshot { total: 5, .. }),
        "{frame:?}"
    );
    assert!(!slow.is_finished(), "the slow office cannot be ready yet");
    // Every room of the slow office is restoring at once (one after another, only one would).
    gate.arrived(SLOW_ROOMS).await;

    gate.open();
    let room = slow.await.unwrap().unwrap();
    assert_eq!(f.ingest(&f.slow, 1, 3).await, Ok(1));
    let office = f.test.node.office(&f.tenant, &f.slow).await.unwrap();
    let DisplayFrame::Snapshot { rooms, total, .. } =
        office_occupancy(&office, None, PATIENCE).await.unwrap()
    else {
        panic!("expected a snapshot")
    };
    assert_eq!((rooms.len(), total), (SLOW_ROOMS, 3));
    assert_eq!(
        f.test
            .node
            .room(&f.tenant, &f.slow, &room_id(&f.slow, 0))
            .await
            .unwrap()
            .get_id(),
        room.get_id()
    );
    assert_eq!(gate.count(), SLOW_ROOMS, "each room restored once");
    f.test.stop_checked().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_for_a_starting_office_share_one_activation() {
    let f = fixture().await;
    let gate = Gate::install(&f.test.disk, |method, id| method == "rooms" && id == "a");
    let tenant = f.tenant_actor().await;
    // Casts reach the tenant in order: all of these are handled before the probe below.
    let answers: Vec<oneshot::Receiver<_>> = (0..8)
        .map(|_| {
            let (reply, answer) = oneshot::channel();
            let office = f.slow.clone();
            tenant
                .cast(TenantMsg::GetOffice {
                    office,
                    activation: OfficeActivation::OnDemand,
                    reply: reply.into(),
                })
                .unwrap();
            answer
        })
        .collect();
    gate.arrived(1).await;
    let quick = f.quick.clone();
    let probe = tenant
        .call(
            |reply| TenantMsg::GetOffice {
                office: quick,
                activation: OfficeActivation::OnDemand,
                reply,
            },
            Some(PATIENCE),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(probe.is_ok(), "{probe:?}");
    let mut answers = answers;
    for answer in &mut answers {
        assert!(
            answer.try_recv().is_err(),
            "answered before the office started"
        );
    }

    gate.open();
    let mut ids = Vec::new();
    for answer in answers {
        let office: ActorRef<OfficeMsg> = tokio::time::timeout(PATIENCE, answer)
            .await
            .expect("answered once the office started")
            .unwrap()
            .unwrap();
        ids.push(office.get_id());
    }
    let later = f.test.node.office(&f.tenant, &f.slow).await.unwrap();
    assert!(ids.iter().all(|id| *id == later.get_id()), "{ids:?}");
    assert_eq!(gate.count(), 1, "one activation");
    f.test.stop_checked().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_stopped_during_an_activation_leaves_no_actor_behind() {
    let f = fixture().await;
    let gate = Gate::install(&f.test.disk, |method, id| {
        method == "room_state" && is_slow_room(id)
    });
    assert_eq!(f.ingest(&f.quick, 1, 2).await, Ok(1));
    let waiting = tokio::spawn({
        let (node, tenant, office) = (f.test.node.clone(), f.tenant.clone(), f.slow.clone());
        async move { node.office(&tenant, &office).await }
    });
    gate.arrived(SLOW_ROOMS).await;
    // The gate never opens: stopping cancels the activation, and its waiter hears so.
    f.test.node.shutdown().await;
    let answer = waiting.await.unwrap();
    assert!(
        matches!(answer, Err(ServiceError::Unavailable(_))),
        "{answer:?}"
    );
    assert_eq!(
        f.test.node.live_actors(),
        0,
        "actors still alive after shutdown"
    );
    let state = f
        .test
        .disk
        .room_state(&f.tenant, &room_id(&f.quick, 0))
        .await;
    assert_eq!(
        state.unwrap().map(|s| s.count),
        Some(2),
        "drained and durable"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_created_while_their_office_runs_show_up() {
    let f = fixture().await;
    let office = f.test.node.office(&f.tenant, &f.quick).await.unwrap();
    let new_room = |i| Room {
        tenant: f.tenant.clone(),
        office: f.quick.clone(),
        id: room_id(&f.quick, i),
        name: String::new(),
        capacity: 10,
        count_mode: CountMode::Sum,
    };
    // Announced by the registry: forwarded to the running office, which starts it.
    f.test.disk.create_room(&new_room(1)).await.unwrap();
    f.test.node.room_created(new_room(1));
    // Not announced: the office finds it in the registry when it is first asked for.
    f.test.disk.create_room(&new_room(2)).await.unwrap();
    for i in [1, 2] {
        let room = room_id(&f.quick, i);
        let answer = f.test.node.room(&f.tenant, &f.quick, &room).await;
        assert!(answer.is_ok(), "{room}: {answer:?}");
    }
    let DisplayFrame::Snapshot { rooms, .. } =
        office_occupancy(&office, None, PATIENCE).await.unwrap()
    else {
        panic!("expected a snapshot")
    };
    assert_eq!(rooms.len(), 3);
    for (office, room) in [
        (&f.quick, room_id(&f.quick, 9)),
        (&f.quick, room_id(&f.slow, 0)),
    ] {
        let answer = f.test.node.room(&f.tenant, office, &room).await;
        assert!(
            matches!(answer, Err(ServiceError::NotFound { .. })),
            "{room}: {answer:?}"
        );
    }
    f.test.stop_checked().await;
}
