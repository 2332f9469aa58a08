//! `store-commit`: group-commit throughput of the embedded store, of PostgreSQL and of the
//! ScyllaDB backend, measured in one run (a throwaway PostgreSQL and a Cassandra 5.0 node started
//! like the tests start theirs), reported with the ratios to the embedded store. See
//! `benches/README.md`.

use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use tally_benches::{CommitShape, group_commits};
use tally_storage::testkit::{CassandraNode, PostgresServer};
use tally_storage::{EmbeddedStore, PostgresStore, ScyllaStore, Store};

/// Times the persister's write pattern against both backends in turn.
#[derive(Debug, Parser)]
struct Args {
    /// Group commits per backend.
    #[arg(long, default_value_t = 300)]
    commits: u32,
    /// Rooms per group commit.
    #[arg(long, default_value_t = 50)]
    rooms: u32,
    /// Readings per room per group commit.
    #[arg(long, default_value_t = 4)]
    readings_per_room: u32,
    /// Rounds of embedded, PostgreSQL, ScyllaDB (each on a fresh tenant), to see the spread.
    #[arg(long, default_value_t = 3)]
    rounds: u32,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let shape = CommitShape {
        commits: args.commits,
        rooms: args.rooms,
        readings_per_room: args.readings_per_room,
    };
    let dir = tempfile::tempdir().context("a directory for the embedded store")?;
    let embedded: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path())?);
    let server = PostgresServer::start()
        .await
        .map_err(anyhow::Error::msg)
        .context(
            "starting a throwaway PostgreSQL (storage/scripts/install-postgres.sh installs it)",
        )?;
    let database = server.create_database().await;
    let postgres: Arc<dyn Store> = Arc::new(PostgresStore::connect(&database.config()).await?);
    let node = CassandraNode::start()
        .await
        .map_err(anyhow::Error::msg)
        .context("starting a Cassandra node (storage/scripts/fetch-cassandra.sh fetches it)")?;
    let scylla: Arc<dyn Store> =
        Arc::new(ScyllaStore::connect(&node.config(&node.fresh_keyspace())).await?);
    println!("shape: {}", serde_json::to_string(&shape)?);
    for round in 0..args.rounds {
        let tenant = format!("bench-{round}");
        let e = group_commits(embedded.as_ref(), &tenant, shape).await?;
        let p = group_commits(postgres.as_ref(), &tenant, shape).await?;
        let s = group_commits(scylla.as_ref(), &tenant, shape).await?;
        println!(
            "round {round}: embedded {:.0} readings/s (commit p50 {:.2} ms), postgres {:.0} readings/s (commit p50 {:.2} ms), scylla/cassandra {:.0} readings/s (commit p50 {:.2} ms), postgres/embedded {:.2}, scylla/embedded {:.2}",
            e.readings_per_s,
            e.commit_ms.p50,
            p.readings_per_s,
            p.commit_ms.p50,
            s.readings_per_s,
            s.commit_ms.p50,
            p.readings_per_s / e.readings_per_s,
            s.readings_per_s / e.readings_per_s
        );
    }
    Ok(())
}
