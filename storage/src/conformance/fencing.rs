//! Owner-token behaviours: fenced writes are rejected with their batch, tokens only rise.

use std::sync::Arc;

use super::support::{
    add_office, add_room, fresh_room, reading, room_write, sensor_id, state, unique,
};
use crate::{Store, StoreError, TimeRange, WriteBatch, testkit::ReadAll};

/// The whole time axis.
const ALL: TimeRange = TimeRange {
    from: i64::MIN,
    to: i64::MAX,
};

/// A write under a token lower than the office's is rejected, and nothing of its batch lands
/// (not even another office's room); equal and higher tokens are accepted.
pub async fn fenced_write_rejected_with_its_batch(store: &dyn Store) {
    let room = fresh_room(store).await;
    let other_office = add_office(store, &room.tenant, &unique("o")).await;
    let other = add_room(store, &room.tenant, &other_office, &unique("r")).await;
    let sensor = sensor_id(&unique("s"));
    let old = store
        .acquire_office(&room.tenant, &room.office)
        .await
        .unwrap();
    let new = store
        .acquire_office(&room.tenant, &room.office)
        .await
        .unwrap();
    assert!(new > old, "{new} after {old}");

    let write = |token: u64, seq: u64| {
        let mut write = room_write(
            &room,
            vec![(sensor.clone(), reading(seq, 1_000 * seq as i64, 1))],
            state(&sensor, 1, 0),
            vec![],
        );
        write.owner_token = token;
        write
    };
    let bystander = room_write(
        &other,
        vec![(sensor.clone(), reading(1, 1_000, 1))],
        state(&sensor, 1, 0),
        vec![],
    );
    let result = store
        .write_batch(Arc::new(WriteBatch {
            rooms: vec![bystander, write(old, 1)],
        }))
        .await;
    match &result {
        Err(StoreError::Fenced {
            tenant,
            office,
            token,
            current,
        }) => {
            assert_eq!((tenant, office), (&room.tenant, &room.office));
            assert_eq!((*token, *current), (old, new));
        }
        other => panic!("expected Fenced, got {other:?}"),
    }
    assert!(!result.unwrap_err().is_retryable());
    for r in [&room, &other] {
        assert_eq!(store.room_state(&r.tenant, &r.id).await.unwrap(), None);
        assert_eq!(
            store.all_readings(&r.tenant, &r.id, ALL).await.unwrap(),
            vec![]
        );
    }

    for (token, seq) in [(new, 2), (new + 5, 3)] {
        store
            .write_batch(Arc::new(WriteBatch {
                rooms: vec![write(token, seq)],
            }))
            .await
            .unwrap();
    }
    let read = store
        .all_readings(&room.tenant, &room.id, ALL)
        .await
        .unwrap();
    assert_eq!(
        read.iter().map(|(_, r)| r.seq).collect::<Vec<_>>(),
        vec![2, 3]
    );
    assert_eq!(
        store
            .acquire_office(&room.tenant, &room.office)
            .await
            .unwrap(),
        new + 1,
        "a write's token does not move the stored one"
    );
}

/// An office that was never acquired accepts token 0, until someone acquires it.
pub async fn token_zero_on_fresh_office(store: &dyn Store) {
    let room = fresh_room(store).await;
    let sensor = sensor_id(&unique("s"));
    let write = || WriteBatch {
        rooms: vec![room_write(&room, vec![], state(&sensor, 2, 0), vec![])],
    };
    store.write_batch(Arc::new(write())).await.unwrap();
    assert_eq!(
        store.room_state(&room.tenant, &room.id).await.unwrap(),
        Some(state(&sensor, 2, 0))
    );
    assert_eq!(
        store
            .acquire_office(&room.tenant, &room.office)
            .await
            .unwrap(),
        1
    );
    assert!(matches!(
        store.write_batch(Arc::new(write())).await,
        Err(StoreError::Fenced {
            token: 0,
            current: 1,
            ..
        })
    ));
}

/// Tokens rise strictly, also when acquired concurrently (all distinct), per office and tenant.
pub async fn acquire_strictly_increasing(store: &dyn Store) {
    let room = fresh_room(store).await;
    let (tenant, office) = (&room.tenant, &room.office);
    let mut last = 0;
    for _ in 0..3 {
        let token = store.acquire_office(tenant, office).await.unwrap();
        assert!(token > last, "{token} after {last}");
        last = token;
    }
    let acquire = || store.acquire_office(tenant, office);
    let results = tokio::join!(
        acquire(),
        acquire(),
        acquire(),
        acquire(),
        acquire(),
        acquire(),
        acquire(),
        acquire()
    );
    let mut tokens = [
        results.0, results.1, results.2, results.3, results.4, results.5, results.6, results.7,
    ]
    .map(Result::unwrap)
    .to_vec();
    tokens.sort_unstable();
    assert_eq!(tokens, (last + 1..=last + 8).collect::<Vec<_>>());

    let other_office = add_office(store, tenant, &unique("o")).await;
    assert_eq!(
        store.acquire_office(tenant, &other_office).await.unwrap(),
        1
    );
    let prefixed = super::support::add_tenant(store, &format!("{tenant}b")).await;
    let same_id = add_office(store, &prefixed, office.as_str()).await;
    assert_eq!(store.acquire_office(&prefixed, &same_id).await.unwrap(), 1);
    assert!(store.tenant(&prefixed).await.unwrap().is_some());
}
