//! Acknowledged ⇒ durable on the embedded store: stream readings into the `tally` binary,
//! `kill -9` it mid-stream, and check storage, recovery and exactly-once replay.

mod support;

use std::sync::Arc;

use support::{ChildNode, durability, temp_dir};
use tally_storage::{EmbeddedStore, SharedStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_readings_survive_kill_9_and_replay_is_exactly_once() {
    let (_dir, data) = temp_dir();
    durability::acknowledged_readings_survive_kill_9(
        || ChildNode::start(&data),
        async || {
            let store: SharedStore = Arc::new(EmbeddedStore::open(&data.join("store")).unwrap());
            store
        },
    )
    .await;
}
