//! A node on PostgreSQL that cannot use its store does not start: it exits non-zero, saying
//! which store and why (unreachable server, a role that would bypass row-level security).

mod support;

use support::{ChildNode, postgres_env, temp_dir};
use tally_storage::testkit::{PostgresServer, SUPERUSER};

/// `env` with the variable `name` set to `value`.
fn with(mut env: Vec<(String, String)>, name: &str, value: String) -> Vec<(String, String)> {
    env.retain(|(n, _)| n != name);
    env.push((name.to_owned(), value));
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_postgres_is_unusable_exits_with_the_reason() {
    let server = PostgresServer::start().await.unwrap();
    let db = server.create_database().await;
    let (_dir, data) = temp_dir();

    // The runtime role is a superuser: row-level security would not apply to it.
    let env = with(
        postgres_env(&db),
        "TALLY_STORAGE__POSTGRES__URL",
        db.url(SUPERUSER),
    );
    let failure = ChildNode::try_start(&data, &env)
        .err()
        .expect("refused to start");
    assert!(failure.contains("exit status: 1"), "{failure}");
    assert!(
        failure.contains("cannot open the PostgreSQL store at"),
        "{failure}"
    );
    assert!(failure.contains("bypasses row-level security"), "{failure}");

    // Nothing listens there any more: unreachable.
    let port = server.port();
    drop(server);
    let env = with(
        postgres_env(&db),
        "TALLY_STORAGE__POSTGRES__URL",
        format!("postgres://tally_app:secret-password@127.0.0.1:{port}/tally"),
    );
    let failure = ChildNode::try_start(&data, &env)
        .err()
        .expect("refused to start");
    assert!(failure.contains("exit status: 1"), "{failure}");
    assert!(failure.contains("storage backend unavailable"), "{failure}");
    assert!(
        !failure.contains("secret-password"),
        "the password is not logged: {failure}"
    );
}
