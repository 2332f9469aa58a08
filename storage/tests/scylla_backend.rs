//! The ScyllaDB backend beyond the conformance suite, on a real Cassandra 5.0 node this binary
//! starts: two nodes racing to activate one office, paging across many day partitions,
//! retention by TTL (a tenant's own, and the node's defaults read back as `TTL(col)`), erasure
//! of a tenant spread over every table and many partitions, and an unresponsive node
//! (`SIGSTOP`) under writes.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tally_storage::conformance::support::{
    add_office, add_room, add_tenant, fresh_room, reading, rollup, room_write, sensor_id, state,
    unique,
};
use tally_storage::testkit::{CassandraNode, ReadAll};
use tally_storage::{
    AreaRollupWrite, PageRequest, Resolution, RetentionPolicy, Rollup, RollupArea, RollupFrontier,
    RoomState, ScyllaConfig, ScyllaStore, Store, StoreError, TimeRange, WriteBatch,
};
use tokio::sync::RwLock;

/// The keyspace of this binary.
const KEYSPACE: &str = "tally_backend";
/// A day in ms.
const DAY: i64 = 86_400_000;
/// The whole time axis.
const ALL: TimeRange = TimeRange {
    from: i64::MIN,
    to: i64::MAX,
};

/// Held for reading by the tests that need the node answering, for writing by the test that
/// stops it.
static NODE_IN_USE: RwLock<()> = RwLock::const_new(());

/// A store on the shared node with `config` changed by `change`.
async fn store_with(change: impl FnOnce(&mut ScyllaConfig)) -> ScyllaStore {
    let node = CassandraNode::shared().await;
    let mut config = node.config(KEYSPACE);
    change(&mut config);
    match ScyllaStore::connect(&config).await {
        Ok(store) => store,
        Err(error) => panic!(
            "cannot connect to the test Cassandra node: {error}\nnode log:\n{}",
            node.log_tail(40)
        ),
    }
}

/// A store on the shared node.
async fn store() -> ScyllaStore {
    store_with(|_| {}).await
}

fn now_ms() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(since.as_millis()).unwrap()
}

/// Two nodes (two sessions) activate one office at once: they get distinct tokens, the lower
/// one's batch is rejected whole (its other office's room included), the higher one's lands.
#[tokio::test(flavor = "multi_thread")]
async fn two_nodes_racing_for_an_office_one_wins() {
    let _node = NODE_IN_USE.read().await;
    let (a, b) = (store().await, store().await);
    let room = fresh_room(&a).await;
    let other_office = add_office(&a, &room.tenant, &unique("o")).await;
    let bystander = add_room(&a, &room.tenant, &other_office, &unique("r")).await;
    for round in 0..5_u64 {
        let (token_a, token_b) = tokio::join!(
            a.acquire_office(&room.tenant, &room.office),
            b.acquire_office(&room.tenant, &room.office)
        );
        let (token_a, token_b) = (token_a.unwrap(), token_b.unwrap());
        assert_ne!(token_a, token_b, "round {round}");
        let sensor = sensor_id(&format!("s-{round}"));
        let batch = |token: u64| {
            let mut owned = room_write(
                &room,
                vec![(sensor.clone(), reading(token, 1_000 * round as i64, 1))],
                state(&sensor, u32::try_from(token).unwrap(), 0),
                vec![],
            );
            owned.owner_token = token;
            let other = room_write(
                &bystander,
                vec![(sensor.clone(), reading(token, 1_000 * round as i64, 1))],
                RoomState::default(),
                vec![],
            );
            Arc::new(WriteBatch {
                rooms: vec![other, owned],
            })
        };
        let (result_a, result_b) =
            tokio::join!(a.write_batch(batch(token_a)), b.write_batch(batch(token_b)));
        let (winner, loser) = if token_a > token_b {
            (token_a, result_b)
        } else {
            (token_b, result_a)
        };
        match loser {
            Err(StoreError::Fenced { token, current, .. }) => {
                assert_eq!((token, current), (token_a.min(token_b), winner));
            }
            other => panic!("round {round}: the lower token wrote: {other:?}"),
        }
        let state = a.room_state(&room.tenant, &room.id).await.unwrap().unwrap();
        assert_eq!(
            state.sensors[&sensor].last_seq,
            u64::from(u32::try_from(winner).unwrap()) + 1,
            "round {round}: the state is the winner's"
        );
        for r in [&room, &bystander] {
            let seqs: Vec<u64> = a
                .all_readings(&r.tenant, &r.id, ALL)
                .await
                .unwrap()
                .into_iter()
                .filter(|(s, _)| s == &sensor)
                .map(|(_, reading)| reading.seq)
                .collect();
            assert_eq!(seqs, vec![winner], "round {round}: room {}", r.id);
        }
    }
}

/// Readings over many days (one partition each) page through in order, each exactly once, and
/// a range starting mid-way finds its first day.
#[tokio::test(flavor = "multi_thread")]
async fn paging_walks_day_partitions_in_order() {
    let _node = NODE_IN_USE.read().await;
    let store = store().await;
    let room = fresh_room(&store).await;
    let sensor = sensor_id(&unique("s"));
    let start = 20_000 * DAY;
    let mut expected = Vec::new();
    for day in [0, 1, 2, 5, 9, 10] {
        for i in 0..4 {
            let ts = start + day * DAY + i * 3_600_000;
            expected.push((sensor.clone(), reading(expected.len() as u64 + 1, ts, 1)));
        }
    }
    let write = room_write(&room, expected.clone(), RoomState::default(), vec![]);
    store
        .write_batch(Arc::new(WriteBatch { rooms: vec![write] }))
        .await
        .unwrap();
    for limit in [1, 3, 4, 7, 24, 50] {
        let mut read = Vec::new();
        let mut request = Some(PageRequest::first(limit));
        while let Some(next) = request {
            let page = store
                .readings(&room.tenant, &room.id, ALL, next)
                .await
                .unwrap();
            assert!(page.items.len() <= limit);
            request = page.next_request(limit);
            read.extend(page.items);
        }
        assert_eq!(read, expected, "limit {limit}");
    }
    let from_day_4 = TimeRange {
        from: start + 4 * DAY,
        to: start + 10 * DAY,
    };
    let read = store
        .all_readings(&room.tenant, &room.id, from_day_4)
        .await
        .unwrap();
    assert_eq!(read, expected[12..20].to_vec());
}

/// A tenant's own retention sets the TTL of its rows: with a readings retention of two seconds
/// its readings expire by themselves (no sweep), while rollups and another tenant's readings
/// stay.
#[tokio::test(flavor = "multi_thread")]
async fn readings_expire_by_the_tenants_retention() {
    let _node = NODE_IN_USE.read().await;
    let store = store().await;
    let short = fresh_room(&store).await;
    let long = fresh_room(&store).await;
    let policy = RetentionPolicy {
        readings: Duration::from_secs(2),
        ..RetentionPolicy::default()
    };
    store
        .set_retention(&short.tenant, Some(&policy))
        .await
        .unwrap();
    let sensor = sensor_id(&unique("s"));
    let now = now_ms();
    let rows = |room| {
        room_write(
            room,
            vec![(sensor.clone(), reading(1, now, 1))],
            state(&sensor, 1, now),
            vec![rollup(
                Resolution::Minute,
                now - now.rem_euclid(60_000),
                1.0,
            )],
        )
    };
    store
        .write_batch(Arc::new(WriteBatch {
            rooms: vec![rows(&short), rows(&long)],
        }))
        .await
        .unwrap();
    assert_eq!(
        store
            .all_readings(&short.tenant, &short.id, ALL)
            .await
            .unwrap()
            .len(),
        1
    );
    // Not expired early: the reading was there right after the write (above). Expiry is
    // evaluated when reading and Cassandra announces none: read again until it is gone (a TTL
    // that never expires hangs the test, and the run's time limit fails it).
    loop {
        let left = store
            .all_readings(&short.tenant, &short.id, ALL)
            .await
            .unwrap();
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for (room, readings) in [(&short, 0), (&long, 1)] {
        assert_eq!(
            store
                .all_readings(&room.tenant, &room.id, ALL)
                .await
                .unwrap()
                .len(),
            readings
        );
        let rollups = store
            .all_rollups(&room.tenant, &room.id, Resolution::Minute, ALL)
            .await
            .unwrap();
        assert_eq!(rollups.len(), 1, "rollups keep their own TTL");
        assert!(
            store
                .room_state(&room.tenant, &room.id)
                .await
                .unwrap()
                .is_some()
        );
    }
}

/// Erasure finds every partition of a tenant (readings over many days, every rollup table of
/// rooms and of offices, several rooms) through `tenant_partitions`, counts every row (an
/// office's frontier as a rollup), and leaves nothing readable.
#[tokio::test(flavor = "multi_thread")]
async fn erasure_finds_every_partition_of_the_tenant() {
    let _node = NODE_IN_USE.read().await;
    let store = store().await;
    let tenant = add_tenant(&store, &unique("t")).await;
    let office = add_office(&store, &tenant, "hq").await;
    let sensor = sensor_id("door");
    let mut rooms = Vec::new();
    let mut writes = Vec::new();
    for name in ["a", "b", "c"] {
        let room = add_room(&store, &tenant, &office, name).await;
        let readings = (0..10)
            .map(|day| (sensor.clone(), reading(day as u64 + 1, day * DAY + 5, 1)))
            .collect();
        let rollups = [
            Resolution::Minute,
            Resolution::FifteenMinutes,
            Resolution::Hour,
            Resolution::Day,
        ]
        .into_iter()
        .flat_map(|r| [0, 400 * DAY].map(|start| rollup(r, start, 1.0)))
        .collect();
        writes.push(room_write(&room, readings, state(&sensor, 1, 0), rollups));
        rooms.push(room);
    }
    store
        .write_batch(Arc::new(WriteBatch { rooms: writes }))
        .await
        .unwrap();
    // The office's rollups: every resolution, two partitions each, and the frontier.
    let office_rollups: Vec<Rollup> = Resolution::ALL
        .into_iter()
        .flat_map(|r| [0, 4000 * DAY].map(|start| rollup(r, start, 1.0)))
        .collect();
    store
        .write_area_rollups(&AreaRollupWrite {
            tenant: tenant.clone(),
            area: RollupArea::Office(office.clone()),
            office: office.clone(),
            owner_token: 0,
            frontier: RollupFrontier { from: 0, to: DAY },
            rollups: office_rollups,
        })
        .await
        .unwrap();

    let report = store.erase_tenant(&tenant, "ops", 7).await.unwrap();
    assert_eq!(report.deleted.readings, 30);
    assert_eq!(report.deleted.rollups, 24 + 8 + 1);
    assert_eq!(report.deleted.room_states, 3);
    assert_eq!(report.finished_at, Some(7));
    for room in &rooms {
        assert!(
            store
                .all_readings(&tenant, &room.id, ALL)
                .await
                .unwrap()
                .is_empty()
        );
        for resolution in [Resolution::Minute, Resolution::Day] {
            let rollups = store
                .all_rollups(&tenant, &room.id, resolution, ALL)
                .await
                .unwrap();
            assert!(rollups.is_empty());
        }
        assert_eq!(store.room_state(&tenant, &room.id).await.unwrap(), None);
    }
    for resolution in Resolution::ALL {
        let page = store
            .area_rollups(
                &tenant,
                &RollupArea::Office(office.clone()),
                resolution,
                ALL,
                PageRequest::first(100),
            )
            .await
            .unwrap();
        assert!(page.items.is_empty(), "{resolution:?}: {:?}", page.items);
    }
    assert_eq!(
        store
            .area_rollup_frontier(&tenant, &RollupArea::Office(office.clone()))
            .await
            .unwrap(),
        None
    );
}

/// A node that stops answering (`SIGSTOP`): writes fail as unavailable (retryable) within the
/// request timeout, nothing is reported written; once it answers again the same batch is
/// written and reads back whole.
#[tokio::test(flavor = "multi_thread")]
async fn an_unresponsive_node_is_unavailable_then_serves_again() {
    let _node = NODE_IN_USE.write().await;
    let node = CassandraNode::shared().await;
    let store = store_with(|config| config.request_timeout = Duration::from_secs(2)).await;
    let room = fresh_room(&store).await;
    let sensor = sensor_id(&unique("s"));
    let readings: Vec<_> = (1..=20)
        .map(|seq| (sensor.clone(), reading(seq, seq as i64 * 1_000, 1)))
        .collect();
    let batch = Arc::new(WriteBatch {
        rooms: vec![room_write(
            &room,
            readings.clone(),
            state(&sensor, 1, 20_000),
            vec![],
        )],
    });

    node.pause();
    let result = store.write_batch(Arc::clone(&batch)).await;
    node.resume();
    match &result {
        Err(error) if error.is_retryable() => {}
        other => panic!("a write to a stopped node answered {other:?}"),
    }
    // Serving again: the resent batch lands whole (replaying is harmless). Retried while the
    // driver reconnects; a node that never serves again hangs the test, and the run's time
    // limit fails it.
    loop {
        match store.write_batch(Arc::clone(&batch)).await {
            Ok(()) => break,
            Err(error) if error.is_retryable() => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(error) => panic!("the node did not serve again: {error}"),
        }
    }
    assert_eq!(
        store
            .all_readings(&room.tenant, &room.id, ALL)
            .await
            .unwrap(),
        readings
    );
    assert_eq!(
        store.room_state(&room.tenant, &room.id).await.unwrap(),
        Some(state(&sensor, 1, 20_000))
    );
}

/// A tenant without its own policy gets the node's `[retention]` defaults as the TTLs of its
/// rows: readings (and the room's write intent, which holds readings), and each rollup
/// resolution its own, read back with `TTL(col)`.
#[tokio::test(flavor = "multi_thread")]
async fn rows_of_a_tenant_without_a_policy_get_the_node_defaults_as_ttls() {
    let _node = NODE_IN_USE.read().await;
    let days = |n: u64| Duration::from_secs(n * 86_400);
    let defaults = RetentionPolicy {
        readings: days(3),
        minute: days(4),
        fifteen_minutes: days(40),
        hour: days(400),
        day: days(4000),
    };
    assert_ne!(defaults, RetentionPolicy::default());
    let store = store_with(|config| config.default_retention = defaults).await;
    let room = fresh_room(&store).await;
    let sensor = sensor_id(&unique("s"));
    let rollups = [
        Resolution::Minute,
        Resolution::FifteenMinutes,
        Resolution::Hour,
        Resolution::Day,
    ];
    let write = room_write(
        &room,
        vec![(sensor.clone(), reading(1, 1_000, 1))],
        state(&sensor, 1, 1_000),
        rollups.iter().map(|r| rollup(*r, 0, 1.0)).collect(),
    );
    store
        .write_batch(Arc::new(WriteBatch { rooms: vec![write] }))
        .await
        .unwrap();

    let node = CassandraNode::shared().await;
    let session = scylla::client::session_builder::SessionBuilder::new()
        .known_node(node.contact_point())
        .build()
        .await
        .unwrap();
    let key = (room.tenant.as_str(), room.id.as_str());
    let ttl_of = |table: &str, column: &str, bucket: Option<&str>| {
        let bucket = bucket.map_or(String::new(), |name| format!(" AND {name} = 0"));
        format!(
            "SELECT TTL({column}) FROM {KEYSPACE}.{table} WHERE tenant = ? AND room = ?{bucket}"
        )
    };
    let mut expected = vec![
        (ttl_of("readings", "count", Some("day")), defaults.readings),
        (ttl_of("room_intents", "intent", None), defaults.readings),
    ];
    for resolution in rollups {
        let table = match resolution {
            Resolution::Minute => "rollups_minute",
            Resolution::FifteenMinutes => "rollups_fifteen_minutes",
            Resolution::Hour => "rollups_hour",
            Resolution::Day => "rollups_day",
        };
        expected.push((
            ttl_of(table, "avg", Some("bucket")),
            defaults.rollups(resolution.analytics()),
        ));
    }
    for (cql, keep) in expected {
        let rows = session
            .query_unpaged(cql.as_str(), key)
            .await
            .unwrap()
            .into_rows_result()
            .unwrap();
        let ttls: Vec<Option<i32>> = rows
            .rows::<(Option<i32>,)>()
            .unwrap()
            .map(|row| row.unwrap().0)
            .collect();
        let keep = i32::try_from(keep.as_secs()).unwrap();
        // Counted down from the write: a minute of slack for a slow machine, never more than
        // the policy.
        assert!(
            matches!(ttls.as_slice(), [Some(ttl)] if *ttl <= keep && *ttl > keep - 60),
            "{cql}: TTLs {ttls:?}, the node's default is {keep} s"
        );
    }
}
