//! Lease plus fencing token: a node that stalled past its lease and resumes cannot write for
//! the office once the next holder claimed it (real `redis-server`, embedded store; the
//! PostgreSQL store enforces the same token check, see the storage conformance suite).

use std::sync::Arc;

use tally_cluster::lease::{LeaseManager, Renewal, claim_office};
use tally_cluster::testkit::{RedisServer, fast_config};
use tally_storage::conformance::support::{fresh_room, reading, room_write, sensor_id, state};
use tally_storage::{EmbeddedStore, Store, StoreError, WriteBatch};

#[tokio::test]
async fn a_stalled_holder_is_fenced_off_by_the_next_claim() {
    let server = RedisServer::start().await.unwrap();
    let config = fast_config(&server, "fencing");
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    let room = fresh_room(&store).await;
    let (a, b) = (
        LeaseManager::new(&config, "node-a").unwrap(),
        LeaseManager::new(&config, "node-b").unwrap(),
    );
    let sensor = sensor_id("s-1");
    let write = |token: u64, seq: u64| {
        let mut write = room_write(
            &room,
            vec![(sensor.clone(), reading(seq, 1_000 * seq as i64, 1))],
            state(&sensor, 1, 0),
            vec![],
        );
        write.owner_token = token;
        Arc::new(WriteBatch { rooms: vec![write] })
    };

    // node-a holds the office by hand (so that it can "stall": stop renewing) with its token.
    let mut stalled = a
        .try_acquire(&room.tenant, &room.office)
        .await
        .unwrap()
        .unwrap();
    let old_token = store
        .acquire_office(&room.tenant, &room.office)
        .await
        .unwrap();
    store.write_batch(write(old_token, 1)).await.unwrap();
    assert!(
        claim_office(&b, &store, &room.tenant, &room.office)
            .await
            .unwrap()
            .is_none(),
        "claimed while node-a holds the lease"
    );

    // node-a stalls; node-b claims once the lease expired in Redis.
    let claim = loop {
        if let Some(claim) = claim_office(&b, &store, &room.tenant, &room.office)
            .await
            .unwrap()
        {
            break claim;
        }
        // Expiry in Redis has no event to await; retry like a node would.
        tokio::time::sleep(config.lease_renew_interval).await;
    };
    assert!(claim.token > old_token);

    // node-a resumes: a write still in its pipeline is rejected by the store, whatever it
    // believes about its lease; its next renewal tells it the lease is gone.
    match store.write_batch(write(old_token, 2)).await {
        Err(StoreError::Fenced { token, current, .. }) => {
            assert_eq!((token, current), (old_token, claim.token));
        }
        other => panic!("expected the stale write to be fenced, got {other:?}"),
    }
    assert!(matches!(stalled.renew().await, Renewal::Lost(_)));
    store.write_batch(write(claim.token, 2)).await.unwrap();
    assert!(claim.lease.release().await.unwrap());
}
