//! Two nodes linked by the transport: the office owner `b` (a child process on its own
//! embedded store) and the forwarding node `a` (in the test process). Batches sent through a's
//! remote room handle are acknowledged once durable in b's store; displays on a get b's frames
//! through one relay, fanned out to each of them.

mod support;

use tally_cluster::DisplayStream;
use tally_protocol::{DisplayFrame, RoomId, SensorId, ServiceError, now_ms};

use support::{PATIENCE, TwoNodes, metrics, readings, stored_seq};

async fn next_frame(stream: &mut DisplayStream) -> DisplayFrame {
    tokio::time::timeout(PATIENCE, stream.next())
        .await
        .expect("a frame in time")
        .expect("the stream is open")
}

fn version_and_total(frame: &DisplayFrame) -> (u64, u64) {
    match frame {
        DisplayFrame::Snapshot { version, total, .. }
        | DisplayFrame::Delta { version, total, .. } => (*version, *total),
        DisplayFrame::Error { .. } => panic!("unexpected {frame:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarded_batch_is_acknowledged_once_durable_on_the_owner() {
    let metrics = metrics();
    let nodes = TwoNodes::linked(1, |_| {}).await;
    let TwoNodes {
        tenant,
        office,
        rooms,
        a,
        ..
    } = &nodes;

    let room = nodes.room(0).await;
    let sensor = SensorId::new("s1").unwrap();
    // Pipelined like a sensor connection: both batches go out before either ack is awaited.
    let first = room
        .send(sensor.clone(), readings(1, 3, 4), now_ms())
        .unwrap();
    let second = room
        .send(sensor.clone(), readings(4, 2, 5), now_ms())
        .unwrap();
    assert_eq!(first.durable().await.unwrap(), 3);
    assert_eq!(second.durable().await.unwrap(), 5);
    // A resent reading is a duplicate on the owner: acknowledged with the mark, not applied.
    let resent = room
        .send(sensor.clone(), readings(2, 1, 9), now_ms())
        .unwrap();
    assert_eq!(resent.durable().await.unwrap(), 5);
    assert_eq!(room.last_durable_seq(&sensor).await.unwrap(), 5);

    let occupancy = nodes.office().await.occupancy(None).await.unwrap();
    assert_eq!(version_and_total(&occupancy).1, 5, "{occupancy:?}");

    // The owner's errors come back as they are: a room it does not have is not found.
    let missing = RoomId::new("no-such-room").unwrap();
    let err = a
        .transport
        .room("b", tenant, office, &missing)
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::NotFound { .. }), "{err:?}");
    // A node that is not linked is unavailable (retryable), not an error of the request.
    let err = a
        .transport
        .room("c", tenant, office, &rooms[0])
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::Unavailable(_)), "{err:?}");

    drop(room);
    let (store, tenant, room) = (nodes.store.clone(), tenant.clone(), rooms[0].clone());
    let _dir = nodes.stop().await;
    // Durable in b's own store, read after b stopped.
    assert_eq!(stored_seq(&store, &tenant, &room, "s1").await, 5);
    // Six readings forwarded here (other tests of this process forward more).
    let rendered = metrics.render();
    let forwarded = rendered
        .lines()
        .find_map(|line| line.strip_prefix("tally_cluster_forwarded_readings_total "))
        .and_then(|value| value.parse::<u64>().ok());
    assert!(forwarded >= Some(6), "{rendered}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn displays_on_the_forwarding_node_share_one_relay_of_the_owners_frames() {
    let nodes = TwoNodes::linked(2, |_| {}).await;
    let a = &nodes.a;

    let office_handle = nodes.office().await;
    let mut first = office_handle.subscribe(None).await.unwrap();
    let mut second = office_handle.subscribe(None).await.unwrap();
    assert_eq!(
        a.transport.relays(),
        1,
        "two displays of one office share a relay"
    );

    let snapshot = next_frame(&mut first).await;
    assert!(
        matches!(snapshot, DisplayFrame::Snapshot { .. }),
        "{snapshot:?}"
    );
    let (version, total) = version_and_total(&snapshot);
    assert_eq!(total, 0);
    assert_eq!(
        next_frame(&mut second).await,
        snapshot,
        "the joiner gets the relay's snapshot"
    );

    let room = nodes.room(1).await;
    let sensor = SensorId::new("s1").unwrap();
    let ack = room.send(sensor, readings(1, 1, 7), now_ms()).unwrap();
    assert_eq!(ack.durable().await.unwrap(), 1);

    let delta = next_frame(&mut first).await;
    assert!(matches!(delta, DisplayFrame::Delta { .. }), "{delta:?}");
    assert_eq!(version_and_total(&delta), (version + 1, 7));
    assert_eq!(
        next_frame(&mut second).await,
        delta,
        "each display gets the same frame"
    );

    // A display of one room is another relay; it starts with that room's snapshot.
    let mut single = office_handle
        .subscribe(Some(nodes.rooms[1].clone()))
        .await
        .unwrap();
    assert_eq!(a.transport.relays(), 2);
    assert_eq!(version_and_total(&next_frame(&mut single).await).1, 7);

    // The relay ends with its last display.
    drop(first);
    assert_eq!(a.transport.relays(), 2);
    drop(second);
    drop(single);
    assert_eq!(a.transport.relays(), 0);

    drop(room);
    nodes.stop().await;
}
