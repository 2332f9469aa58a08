//! A `tally` node whose embedded journal lost acknowledged writes (a corrupt batch marker in its
//! middle, which fjall recovers from by dropping everything after it) refuses to start, naming
//! the loss; with `storage.embedded.accept_journal_loss` it starts on what was recovered, logging
//! the loss at WARN.

mod support;

use serde_json::json;
use support::{ADMIN_TOKEN, Api, ChildNode, temp_dir};
use tally_storage::testkit::corrupt_journal_before;

const TENANTS: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_journal_lost_acknowledged_writes_starts_only_when_the_loss_is_accepted() {
    let (_dir, data) = temp_dir();
    let node = ChildNode::start(&data);
    let api = Api::new(node.addr);
    for n in 0..TENANTS {
        api.create(
            "/v1/tenants",
            json!({ "id": format!("t{n:03}"), "name": format!("tenant number {n:03}") }),
        )
        .await;
    }
    node.kill9();
    // A tenant's creation is one commit of two items: the tenant and the commit number.
    corrupt_journal_before(&data.join("store"), b"tenant number 005", 2);

    let failure = ChildNode::try_start(&data, &[])
        .err()
        .expect("refused to start");
    assert!(failure.contains("exit status: 1"), "{failure}");
    assert!(
        failure.contains("cannot open the embedded store")
            && failure.contains("lost acknowledged writes")
            && failure.contains("accept_journal_loss"),
        "{failure}"
    );
    assert!(failure.contains("WARN"), "{failure}");

    let accept = [(
        "TALLY_STORAGE__EMBEDDED__ACCEPT_JOURNAL_LOSS".to_owned(),
        "true".to_owned(),
    )];
    let node = ChildNode::start_with(&data, &accept);
    assert!(node.logged("WARN") && node.logged("lost acknowledged writes"));
    let api = Api::new(node.addr);
    assert_eq!(api.get("/v1/tenants/t004", ADMIN_TOKEN).await.0, 200);
    assert_eq!(api.get("/v1/tenants/t005", ADMIN_TOKEN).await.0, 404);
    assert_eq!(api.get("/v1/tenants/t009", ADMIN_TOKEN).await.0, 404);
    assert!(node.terminate().success());

    // Accepted once, the loss is not reported again.
    let node = ChildNode::start(&data);
    assert!(!node.logged("lost acknowledged writes"));
}
